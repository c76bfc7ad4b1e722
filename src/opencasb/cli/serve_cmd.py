"""``opencasb serve``: the portal and the REST API over HTTP(S), loopback by default."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.terminal import markup
from opencasb.errors import ConfigError

__all__ = ["register", "serve"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8443,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate (chain) to serve HTTPS with.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Listen on an address other machines can reach (use TLS)."
        ),
    ] = False,
) -> None:
    """Serve the web portal and the REST API (docs at /api/docs).

    On first run (no portal user yet) an admin is created and its password printed once;
    manage users with `opencasb users`.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("give both --tls-cert and --tls-key, or neither")
        if not _is_loopback(host) and not allow_remote:
            raise ConfigError(
                f"refusing to listen on {host}: other machines could reach the portal",
                fix="add --allow-remote (and serve TLS with --tls-cert/--tls-key), or keep the "
                "default 127.0.0.1 and put a TLS reverse proxy in front",
                code="remote_bind",
            )
        if not _is_loopback(host) and tls_cert is None:
            err_console.print(
                "[bold yellow]warning:[/] serving plain HTTP to the network: passwords and "
                "session cookies travel in clear text; use --tls-cert and --tls-key"
            )
        for f in (tls_cert, tls_key):
            if f is not None and not f.is_file():
                raise ConfigError(f"cannot read {f}", fix="give the path of a PEM file")
        run_server(state, host, port, tls_cert, tls_key)


def announce_first_admin(state: Ctx) -> None:
    """Create the first admin when there is no user yet and print its password once."""
    from opencasb.web.auth.accounts import ensure_first_admin
    from opencasb.web.context import WebContext

    web = WebContext(store=state.store, settings=state.settings)
    created = ensure_first_admin(web.store, web.password_hasher)
    if created is not None:
        user, password = created
        console.print(
            f"first run: created the portal admin [bold]{user}[/] with the password "
            f"[bold]{markup(password)}[/] (shown once; change it with "
            f"`opencasb users set-password {user}`)"
        )


def run_server(
    state: Ctx, host: str, port: int, tls_cert: Path | None = None, tls_key: Path | None = None
) -> None:
    """Run uvicorn with the app until interrupted."""
    import uvicorn

    from opencasb.web.app import create_app
    from opencasb.web.context import WebContext

    announce_first_admin(state)
    app = create_app(WebContext(store=state.store, settings=state.settings))
    scheme = "https" if tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving the portal at {scheme}://{shown}:{port}/ (API docs at /api/docs)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
