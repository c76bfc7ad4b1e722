"""``opencasb connect okta``: validate, test and save an app instance."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from opencasb.apps.base import HttpOptions, load_app
from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.errors import ConfigError

__all__ = ["read_secret", "register"]

connect = typer.Typer(help="Connect an app.", no_args_is_help=True)


def read_secret(label: str, env_var: str | None, file: Path | None) -> str:
    """A secret from a file, an environment variable or a hidden prompt — never from argv.

    Raises:
        ConfigError: none of them is available.
    """
    if file is not None:
        try:
            return file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}", fix="check the path") from None
    if env_var and os.environ.get(env_var):
        return os.environ[env_var].strip()
    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True)).strip()
    raise ConfigError(
        f"no {label} given",
        fix=f"set {env_var} or pass a file option; secrets are never taken from the command line",
    )


@connect.command("okta")
def connect_okta(
    ctx: typer.Context,
    domain: Annotated[str, typer.Option(help="The org's domain, e.g. acme.okta.com.")],
    name: Annotated[str, typer.Option(help="A name for this instance.")] = "okta",
    auth: Annotated[str, typer.Option(help="ssws (API token) or oauth (service app).")] = "ssws",
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the API token.")
    ] = "OKTA_API_TOKEN",
    client_id: Annotated[str | None, typer.Option(help="OAuth service app client id.")] = None,
    private_key_file: Annotated[
        Path | None, typer.Option(help="PEM private key of the OAuth service app.")
    ] = None,
    backfill_days: Annotated[int, typer.Option(help="Days of history to fetch (max 90).")] = 60,
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 60,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="CA bundle to trust (a TLS-inspecting proxy, the sandbox).")
    ] = None,
    skip_test: Annotated[bool, typer.Option("--skip-test", help="Save without testing.")] = False,
) -> None:
    """Connect an Okta org. The token is read from $OKTA_API_TOKEN or a hidden prompt."""
    state: Ctx = ctx.obj
    with handle_errors():
        cls = load_app("okta")
        config = {
            "domain": domain,
            "auth": auth,
            "client_id": client_id or "",
            "backfill_days": str(backfill_days),
            "ca_bundle": str(ca_bundle.resolve()) if ca_bundle else "",
        }
        config = cls.validate_config(config)
        if config["auth"] == "ssws":
            secrets = {"token": read_secret("Okta API token", token_env, None)}
        else:
            key = read_secret("OAuth private key (PEM)", "OKTA_PRIVATE_KEY", private_key_file)
            secrets = {"private_key": key}
        if not skip_test:
            connector = cls(config, secrets, http=HttpOptions(max_retries=1))
            try:
                check = connector.test()
            finally:
                connector.close()
            if not check.ok:
                e = check.error
                show_problem(
                    "connection test failed",
                    code=e.code if e else "",
                    detail=check.summary,
                    meaning=e.meaning if e else "",
                    fix=e.fix if e else "",
                )
                err_console.print("nothing was saved; fix the problem and connect again")
                raise typer.Exit(1)
            console.print(f"[green]✓[/] {escape(check.summary)}")
        rec = state.store.add_instance("okta", name, config, secrets, interval_seconds=interval)
        console.print(
            f"connected [bold]{escape(rec.name)}[/] ({escape(config['domain'])}); "
            "run `opencasb sync` to backfill "
            f"{config['backfill_days']} days and follow new events"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(connect, name="connect")
