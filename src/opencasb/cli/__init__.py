"""The ``opencasb`` command line."""

from opencasb.cli.main import app, main

__all__ = ["app", "main"]
