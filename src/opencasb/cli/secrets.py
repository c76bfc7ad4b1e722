"""Reading secrets for ``connect`` and ``apps edit``: from a file, an environment variable
or a hidden prompt, never from the command line (argv is visible to every local user), and
checked to be text an HTTP request can carry."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from opencasb.errors import ConfigError
from opencasb.ingest.connect import check_secret

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
