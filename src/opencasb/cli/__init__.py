"""The ``opencasb`` command line.

Importing this package is cheap on purpose: the ``opencasb`` console script does
``from opencasb.cli import main``, and every ingest worker process re-runs that script
(multiprocessing re-executes the parent's main script in each child it starts). With the
commands imported here, each worker carried the whole CLI (~70 MiB) it never uses; now
the commands are imported when :func:`main` runs or ``app`` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencasb.cli.main import app

__all__ = ["app", "main"]


def main() -> Any:
    """Run the command line (the ``opencasb`` console script)."""
    from opencasb.cli.main import main as run

    return run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from opencasb.cli.main import app as typer_app

        return typer_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
