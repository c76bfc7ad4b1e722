"""Changing connected instances: ``opencasb apps edit|disable|enable|remove`` and the save
step of ``connect`` (with ``--replace``).

Rotating a credential or fixing a setting keeps the instance's id, hence its cursors,
activities, inventory and counts: the next sync goes on where the last one stopped. Only
``connect --replace --reset`` and ``apps remove`` drop the stored data. A change that
touches the connection is tested before it is saved (unless ``--skip-test``), as connect
does, so a typo cannot replace a working credential with a broken one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opencasb.apps.base import AppConnector, ConnectionCheck, load_app
from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.cli.secrets import read_secret
from opencasb.cli.terminal import markup, visible
from opencasb.errors import ConfigError
from opencasb.ingest.connect import check_connection, save_instance
from opencasb.ingest.health import changed_by_user
from opencasb.model import Health

__all__ = ["register", "save_instance", "show_test_failure", "test_connection"]

# Which secret field the configured credential kind (``auth``) needs, per app. An app not
# listed with one secret field needs that one.
_SECRET_FOR_AUTH: dict[str, dict[str, str]] = {
    "okta": {"ssws": "token", "oauth": "private_key"},
    "office365": {"secret": "client_secret", "certificate": "certificate"},
}


def show_test_failure(check: ConnectionCheck) -> None:
    """Explain a failed connection test and that nothing was saved."""
    e = check.error
    show_problem(
        "connection test failed",
        code=e.code if e else "",
        detail=check.summary,
        meaning=e.meaning if e else "",
        fix=e.fix if e else "",
    )
    err_console.print("nothing was saved; fix the problem and run the command again")


def test_connection(app: str, config: dict[str, str], secrets: dict[str, str]) -> None:
    """Test a connection before anything is saved; on failure explain it and exit 1."""
    check = check_connection(app, config, secrets)
    if not check.ok:
        show_test_failure(check)
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {markup(check.summary)}")


def _ready(health: Health, *, enabled: bool) -> Health:
    """The health after the user changed the instance (see ingest.health)."""
    return changed_by_user(health, enabled=enabled)


# -- apps edit ----------------------------------------------------------------------------


def _secret_field(app: type[AppConnector], name: str, config: dict[str, str]) -> str:
    fields = [f.name for f in app.FORM if f.secret]
    by_auth = _SECRET_FOR_AUTH.get(name, {})
    if config.get("auth") in by_auth:
        return by_auth[config["auth"]]
    if len(fields) == 1:
        return fields[0]
    raise ConfigError(
        f"cannot tell which secret of {name} to replace",
        fix=f"name it with --secret-field, one of: {', '.join(fields)}",
    )


def _parse_settings(app: type[AppConnector], pairs: list[str]) -> dict[str, str]:
    form = {f.name: f for f in app.FORM}
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in form:
            plain = ", ".join(f.name for f in app.FORM if not f.secret)
            raise ConfigError(
                f"--set {pair!r} is not KEY=VALUE with a setting of {app.NAME}",
                fix=f"settings of {app.NAME}: {plain}",
            )
        if form[key].secret:
            raise ConfigError(
                f"{key} is a secret: secrets are never taken from the command line",
                fix="use --new-secret, reading it from --secret-env VARIABLE, --secret-file "
                "PATH or a hidden prompt",
            )
        out[key] = value
    return out


def edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The instance to change.")],
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="A setting as KEY=VALUE, e.g. --set domain=acme.okta.com (repeatable)."
        ),
    ] = None,
    new_secret: Annotated[
        bool,
        typer.Option(
            "--new-secret",
            help="Replace the credential: read it from --secret-file, --secret-env, the app's "
            "variable (OKTA_API_TOKEN, O365_CLIENT_SECRET ...) or a hidden prompt.",
        ),
    ] = False,
    secret_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the new secret.")
    ] = None,
    secret_file: Annotated[
        Path | None, typer.Option(help="File holding the new secret (a PEM for keys).")
    ] = None,
    secret_field: Annotated[
        str | None, typer.Option(help="Which secret to replace, when the app cannot tell.")
    ] = None,
    interval: Annotated[int | None, typer.Option(help="Seconds between polls.")] = None,
    skip_test: Annotated[bool, typer.Option("--skip-test", help="Save without testing.")] = False,
) -> None:
    """Change an instance's settings or rotate its credential, keeping its cursors and data.

    Secrets are never taken from the command line: --new-secret reads the new one from a
    file, an environment variable or a hidden prompt. A change is tested before it is saved.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        store = state.store
        rec = store.get_instance(name)
        cls = load_app(rec.app)
        changes = _parse_settings(cls, settings or [])
        config = cls.validate_config({**rec.config, **changes}) if changes else dict(rec.config)
        changed = sorted(k for k in config if config[k] != rec.config.get(k))
        rotate = new_secret or secret_env is not None or secret_file is not None
        secrets: dict[str, str] | None = None
        if rotate or config.get("auth") != rec.config.get("auth"):
            # A new credential kind needs its own secret; the old one is dropped with it.
            field = secret_field or _secret_field(cls, rec.app, config)
            form = {f.name: f for f in cls.FORM if f.secret}
            if field not in form:
                raise ConfigError(
                    f"{field!r} is not a secret of {rec.app}", fix=f"one of: {', '.join(form)}"
                )
            env = secret_env or form[field].env_var
            secrets = {field: read_secret(form[field].label, env, secret_file)}
            changed.append(field)
        if not changed and interval is None:
            raise ConfigError(
                f"nothing to change in {name}",
                fix="give --set KEY=VALUE, --new-secret or --interval SECONDS",
            )
        if changed and not skip_test:
            test_connection(rec.app, config, secrets or store.instance_secrets(rec))
        rec = store.update_instance(
            name,
            config=config if changes else None,
            secrets=secrets,
            interval_seconds=interval,
        )
        store.set_health(rec.id, _ready(rec.health, enabled=rec.enabled))
        record_cli(store, "app.edit", target=name,
                   detail={"fields": changed, "interval": interval})  # fmt: skip
        what = ", ".join([*changed, *(["interval"] if interval is not None else [])])
        console.print(
            f"updated [bold]{markup(name)}[/]: {markup(what)}; its cursors and stored "
            "activities were kept"
            + ("" if rec.enabled else f" (it is disabled: `opencasb apps enable {markup(name)}`)")
        )


# -- disable, enable, remove --------------------------------------------------------------


def disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The instance to pause.")]
) -> None:
    """Stop polling an instance; its data stays and can still be searched and exported."""
    state: Ctx = ctx.obj
    with handle_errors():
        rec = state.store.update_instance(name, enabled=False)
        state.store.set_health(rec.id, _ready(rec.health, enabled=False))
        record_cli(state.store, "app.disable", target=name)
        console.print(
            f"disabled [bold]{markup(name)}[/]: it is not polled until "
            f"`opencasb apps enable {markup(name)}`"
        )


def enable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The instance to resume.")]
) -> None:
    """Poll an instance again, from where it stopped."""
    state: Ctx = ctx.obj
    with handle_errors():
        store = state.store
        rec = store.get_instance(name)
        cls = load_app(rec.app)
        if any(f.secret for f in cls.FORM) and not store.instance_secrets(rec):
            raise ConfigError(
                f"{name} holds imported history only: it has no credentials to poll with",
                fix=f"give it credentials with `opencasb connect {rec.app} --name {name} "
                "--replace ...` (the imported history stays)",
                code="import_only",
            )
        rec = store.update_instance(name, enabled=True)
        store.set_health(rec.id, _ready(rec.health, enabled=True))
        record_cli(store, "app.enable", target=name)
        console.print(f"enabled [bold]{markup(name)}[/]: `opencasb sync` polls it again")


def _interactive() -> bool:
    return sys.stdin.isatty()


def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The instance to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an instance and everything stored for it (asks first unless --yes).

    Its credentials, cursors, activities, rejected records and inventory are deleted; this
    cannot be undone. To stop polling but keep the data, use `opencasb apps disable`.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        store = state.store
        rec = store.get_instance(name)
        count = store.count_activities(rec.id)
        if not yes:
            if not _interactive():
                raise ConfigError(
                    f"removing {name} deletes its {count:,} activities and needs confirmation",
                    fix=f"run `opencasb apps remove {name} --yes` to confirm",
                )
            question = (
                f"Remove {visible(name)} ({rec.app}) with its {count:,} activities, "
                "cursors and inventory? This cannot be undone"
            )
            if not typer.confirm(question, default=False):
                err_console.print("nothing was removed")
                raise typer.Exit(1)
        store.remove_instance(name)
        record_cli(store, "app.remove", target=name, detail={"activities": count})
        console.print(f"removed [bold]{markup(name)}[/] and its {count:,} activities")


def register(apps: typer.Typer) -> None:
    apps.command("edit")(edit)
    apps.command("disable")(disable)
    apps.command("enable")(enable)
    apps.command("remove")(remove)
