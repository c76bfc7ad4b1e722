"""The ``--format`` option of the listing and showing commands, and its one check.

The value is checked inside the command's error handling (not by click's choices), so an
unknown format is an ``OpenCASBError`` like any other: exit status 1 and a line that names
the choices.
"""

from __future__ import annotations

from typing import Annotated

import typer

from opencasb.errors import ConfigError

__all__ = ["LinesFormat", "TableFormat", "TextFormat", "check_format"]

LinesFormat = Annotated[str, typer.Option("--format", help="table, or json (lines).")]
"""A listing: a table, or one JSON object a line (default ``table``)."""

TableFormat = Annotated[str, typer.Option("--format", help="table, or json.")]
"""A table, or one JSON value (default ``table``)."""

TextFormat = Annotated[str, typer.Option("--format", help="text, or json.")]
"""One record: text lines, or one JSON object (default ``text``)."""


def check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    """Nothing when ``fmt`` is one of ``allowed``.

    Raises:
        ConfigError: ``unknown format 'x'``, with the fix ``use table or json`` (the
            choices of ``allowed``, in order).
    """
    if fmt not in allowed:
        choices = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} or {allowed[-1]}"
        raise ConfigError(f"unknown format {fmt!r}", fix=f"use {choices}")
