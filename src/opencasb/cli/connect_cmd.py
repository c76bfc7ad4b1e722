"""``opencasb connect okta|office365``: validate, test and save an app instance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opencasb.apps.base import load_app
from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, handle_errors
from opencasb.cli.manage_cmd import show_test_failure
from opencasb.cli.secrets import read_secret
from opencasb.cli.terminal import markup
from opencasb.ingest.connect import ConnectionTestFailed, connect_instance
from opencasb.store import InstanceRecord

__all__ = ["register"]

connect = typer.Typer(help="Connect an app.", no_args_is_help=True)


_REPLACE_HELP = "Give an existing instance of this name these settings, keeping its data."
_RESET_HELP = "With --replace: drop the instance's stored activities and cursors too."


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
    replace: Annotated[bool, typer.Option("--replace", help=_REPLACE_HELP)] = False,
    reset: Annotated[bool, typer.Option("--reset", help=_RESET_HELP)] = False,
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
        rec = _test_and_save(
            state, "okta", name, config, secrets,
            interval=interval, skip_test=skip_test, replace=replace, reset=reset,
        )  # fmt: skip
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
    *,
    interval: int,
    skip_test: bool,
    replace: bool,
    reset: bool,
) -> InstanceRecord:
    """Test the connection (unless skipped) and save the instance only if it works; with
    ``replace``, an existing instance of the same name takes the new settings. The same code
    path as the API and the portal's dialogs (:func:`opencasb.ingest.connect.connect_instance`)."""
    try:
        done = connect_instance(
            state.store, app, name, config, secrets,
            interval=interval, skip_test=skip_test, replace=replace, reset=reset,
        )  # fmt: skip
    except ConnectionTestFailed as exc:
        record_cli(state.store, "app.connect", target=name, outcome="failure",
                   detail={"app": app, "error": exc.code})  # fmt: skip
        show_test_failure(exc.check)
        raise typer.Exit(1) from None
    record_cli(state.store, "app.connect", target=done.record.name,
               detail={"app": app, "replace": replace, "reset": reset})  # fmt: skip
    if done.check is not None:
        console.print(f"[green]✓[/] {markup(done.check.summary)}")
    if done.kept:
        console.print(f"replaced the settings of [bold]{markup(name)}[/]; {done.kept}")
    return done.record


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
    replace: Annotated[bool, typer.Option("--replace", help=_REPLACE_HELP)] = False,
    reset: Annotated[bool, typer.Option("--reset", help=_RESET_HELP)] = False,
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
        rec = _test_and_save(
            state, "office365", name, config, secrets,
            interval=interval, skip_test=skip_test, replace=replace, reset=reset,
        )  # fmt: skip
        console.print(
            f"connected [bold]{markup(rec.name)}[/] (tenant {markup(config['tenant_id'])}); "
            f"run `opencasb sync` to backfill {config['backfill_days']} days and follow new "
            "activities"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(connect, name="connect")
