"""``opencasb users``: the portal's local users (list, add, set-password, set-role, remove).

Passwords are never taken from the command line: from ``$OPENCASB_USER_PASSWORD`` (or the
variable named by ``--password-env``), a hidden prompt asked twice, or ``--generate`` (a
random one, printed once). Every change is written to the portal's audit trail as done by
``cli:<local user>``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, handle_errors
from opencasb.cli.terminal import markup
from opencasb.errors import ConfigError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = ["register"]

users = typer.Typer(help="Portal users: list, add, set-password, set-role, remove.")

_ENV = "OPENCASB_USER_PASSWORD"
PasswordEnv = Annotated[str, typer.Option(help="Environment variable holding the password.")]
Generate = Annotated[
    bool, typer.Option("--generate", help="Generate a random password and print it once.")
]


def _password(env: str, generate: bool) -> tuple[str, bool]:
    """The new password and whether it was generated (then it is printed)."""
    from opencasb.web.auth.passwords import check_password_policy, random_password

    if generate:
        return random_password(), True
    if os.environ.get(env):
        value = os.environ[env]
    elif sys.stdin.isatty():
        value = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        raise ConfigError(
            "no password given",
            fix=f"set {env}, run in a terminal to be asked, or pass --generate; passwords "
            "are never taken from the command line",
        )
    check_password_policy(value)
    return value, False


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@users.callback(invoke_without_command=True)
def list_users(ctx: typer.Context) -> None:
    """List the portal's users and their roles."""
    if ctx.invoked_subcommand is not None:
        return
    state: Ctx = ctx.obj
    with handle_errors():
        rows = state.store.portal.list_users()
        if not rows:
            console.print("no users yet: `opencasb serve` creates the first admin, or "
                          "`opencasb users add NAME --role admin`")  # fmt: skip
            return
        table = Table()
        for col in ("username", "role", "created", "changed"):
            table.add_column(col)
        for u in rows:
            cells = (u.username, u.role, f"{u.created_at:%Y-%m-%d %H:%M}Z",
                     f"{u.updated_at:%Y-%m-%d %H:%M}Z")  # fmt: skip
            table.add_row(*(Text(c) for c in cells))
        console.print(table)


@users.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Letters, digits and . _ @ -")],
    role: Annotated[str, typer.Option(help="admin, analyst or read_only.")] = "read_only",
    password_env: PasswordEnv = _ENV,
    generate: Generate = False,
) -> None:
    """Add a user with a role."""
    from opencasb.web.auth.accounts import add_user

    state: Ctx = ctx.obj
    with handle_errors():
        password, generated = _password(password_env, generate)
        u = add_user(state.store, _hasher(), username, password, role)
        record_cli(state.store, "user.add", target=u.username, detail={"role": u.role})
        console.print(f"added [bold]{markup(u.username)}[/] ({u.role})")
        if generated:
            console.print(f"password (shown once): [bold]{markup(password)}[/]")


@users.command("set-password")
def set_password_cmd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    password_env: PasswordEnv = _ENV,
    generate: Generate = False,
) -> None:
    """Give a user a new password (their sessions end)."""
    from opencasb.web.auth.accounts import set_password

    state: Ctx = ctx.obj
    with handle_errors():
        state.store.portal.get_user(username.strip().lower())
        password, generated = _password(password_env, generate)
        u = set_password(state.store, _hasher(), username, password)
        record_cli(state.store, "user.set_password", target=u.username)
        console.print(f"new password set for [bold]{markup(u.username)}[/]")
        if generated:
            console.print(f"password (shown once): [bold]{markup(password)}[/]")


@users.command("set-role")
def set_role_cmd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="admin, analyst or read_only.")],
) -> None:
    """Change a user's role (their sessions end)."""
    from opencasb.web.auth.accounts import set_role

    state: Ctx = ctx.obj
    with handle_errors():
        u = set_role(state.store, username, role)
        record_cli(state.store, "user.set_role", target=u.username,
                                 detail={"role": u.role})  # fmt: skip
        console.print(f"[bold]{markup(u.username)}[/] is now {u.role}")


@users.command("remove")
def remove(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Remove a user (the last admin cannot be removed)."""
    from opencasb.web.auth.accounts import remove_user

    state: Ctx = ctx.obj
    with handle_errors():
        remove_user(state.store, username)
        record_cli(state.store, "user.remove", target=username.strip().lower())
        console.print(f"removed [bold]{markup(username)}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
