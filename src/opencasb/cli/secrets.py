"""Reading secrets for ``connect`` and ``apps edit``: from a file, an environment variable
or a hidden prompt, never from the command line (argv is visible to every local user), and
checked to be text an HTTP request can carry."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from opencasb.errors import ConfigError

__all__ = ["check_secret", "read_secret"]


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
