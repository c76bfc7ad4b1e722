"""``opencasb connect okta|office365``: validate, test and save an app instance."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from opencasb.apps.base import HttpOptions, load_app
from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.cli.terminal import markup
from opencasb.errors import ConfigError
from opencasb.store import InstanceRecord

__all__ = ["check_secret", "read_secret", "register"]

connect = typer.Typer(help="Connect an app.", no_args_is_help=True)


def read_secret(label: str, env_var: str | None, file: Path | None) -> str:
    """A secret from a file, an environment variable or a hidden prompt — never from argv.

    Raises:
        ConfigError: none of them is available, or the secret holds characters an HTTP
            request cannot carry (see :func:`check_secret`).
    """
    return check_secret(label, _read_secret(label, env_var, file))


def _read_secret(label: str, env_var: str | None, file: Path | None) -> str:
    if file is not None:
        try:
            return file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}", fix="check the path") from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"{file} is not a text file", fix=f"give the file that holds the {label}"
            ) from None
    if env_var and os.environ.get(env_var):
        return os.environ[env_var].strip()
    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True)).strip()
    raise ConfigError(
        f"no {label} given",
        fix=f"set {env_var} or pass a file option; secrets are never taken from the command line",
    )


def check_secret(label: str, value: str) -> str:
    """``value`` if it is printable ASCII (newlines allowed, for PEM files).

    Tokens travel in HTTP headers, which carry ASCII only (latin-1 at most); a token with a
    non-ASCII character was mangled on the way (a typographic quote, a non-breaking space, a
    look-alike letter) and would fail every request. The message names the position and the
    code point, never the secret.

    Raises:
        ConfigError: the value holds a non-ASCII or control character.
    """
    for i, ch in enumerate(value):
        if not (" " <= ch <= "~" or ch in "\r\n\t"):
            raise ConfigError(
                f"the {label} holds the character U+{ord(ch):04X} at position {i + 1}, "
                "which an HTTP header cannot carry (headers are ASCII)",
                meaning="the value was likely changed when it was copied: a typographic quote, "
                "a non-breaking space or a look-alike letter",
                fix=f"copy the {label} again from the vendor's console as plain text",
                code="secret_not_ascii",
            )
    return value


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
        config = {
            "domain": domain,
            "auth": auth,
            "client_id": client_id or "",
            "backfill_days": str(backfill_days),
            "ca_bundle": str(ca_bundle.resolve()) if ca_bundle else "",
        }
        config = load_app("okta").validate_config(config)
        if config["auth"] == "ssws":
            secrets = {"token": read_secret("Okta API token", token_env, None)}
        else:
            key = read_secret("OAuth private key (PEM)", "OKTA_PRIVATE_KEY", private_key_file)
            secrets = {"private_key": key}
        rec = _test_and_save(state, "okta", name, config, secrets, interval, skip_test)
        console.print(
            f"connected [bold]{markup(rec.name)}[/] ({markup(config['domain'])}); "
            "run `opencasb sync` to backfill "
            f"{config['backfill_days']} days and follow new events"
        )


def _test_and_save(
    state: Ctx,
    app: str,
    name: str,
    config: dict[str, str],
    secrets: dict[str, str],
    interval: int,
    skip_test: bool,
) -> InstanceRecord:
    """Test the connection (unless skipped) and save the instance only if it works."""
    cls = load_app(app)
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
        console.print(f"[green]✓[/] {markup(check.summary)}")
    return state.store.add_instance(app, name, config, secrets, interval_seconds=interval)


@connect.command("office365")
def connect_office365(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Option(help="The tenant id (a GUID).")],
    client_id: Annotated[str, typer.Option(help="The app registration's client id.")],
    name: Annotated[str, typer.Option(help="A name for this instance.")] = "office365",
    auth: Annotated[str, typer.Option(help="secret or certificate.")] = "secret",
    secret_env: Annotated[
        str, typer.Option(help="Environment variable holding the client secret.")
    ] = "O365_CLIENT_SECRET",
    secret_file: Annotated[
        Path | None, typer.Option(help="File holding the client secret.")
    ] = None,
    certificate_file: Annotated[
        Path | None, typer.Option(help="PEM with the certificate's private key and certificate.")
    ] = None,
    cloud: Annotated[str, typer.Option(help="commercial, gcc, gcc_high or dod.")] = "commercial",
    components: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: aad_management, aad_signins, aad_apps, activities, files "
            "(users_groups is always on). Default: all but files."
        ),
    ] = None,
    backfill_days: Annotated[int, typer.Option(help="Days of history to fetch (max 7).")] = 7,
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 60,
    requests_per_minute: Annotated[
        int, typer.Option(help="Management Activity API requests a minute (tenant limit 2,000).")
    ] = 1900,
    endpoint: Annotated[
        str | None, typer.Option(help="One https origin for every Microsoft host (the sandbox).")
    ] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="CA bundle to trust (a TLS-inspecting proxy, the sandbox).")
    ] = None,
    skip_test: Annotated[bool, typer.Option("--skip-test", help="Save without testing.")] = False,
) -> None:
    """Connect an Office 365 tenant through an app registration with application permissions.

    The client secret is read from $O365_CLIENT_SECRET, --secret-file or a hidden prompt; a
    certificate from --certificate-file or $O365_CERTIFICATE. Never from the command line.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        cls = load_app("office365")
        config = cls.validate_config(
            {
                "tenant_id": tenant_id,
                "client_id": client_id,
                "auth": auth,
                "cloud": cloud,
                "components": components or "",
                "backfill_days": str(backfill_days),
                "requests_per_minute": str(requests_per_minute),
                "endpoint": endpoint or "",
                "ca_bundle": str(ca_bundle.resolve()) if ca_bundle else "",
            }
        )
        if config["auth"] == "secret":
            secrets = {"client_secret": read_secret("client secret", secret_env, secret_file)}
        else:
            pem = read_secret("certificate PEM", "O365_CERTIFICATE", certificate_file)
            secrets = {"certificate": pem}
        rec = _test_and_save(state, "office365", name, config, secrets, interval, skip_test)
        console.print(
            f"connected [bold]{markup(rec.name)}[/] (tenant {markup(config['tenant_id'])}); "
            f"run `opencasb sync` to backfill {config['backfill_days']} days and follow new "
            "activities"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(connect, name="connect")
