"""Text from outside (audit data, API error text, file names) made safe to print.

Audit data is attacker-chosen: a user agent or a file name can carry ``ESC [2J`` (clear the
screen), ``ESC ] 0;...`` (retitle the window), ``ESC ] 52;...`` (write the clipboard) or a
right-to-left override that makes ``exe.txt`` read as ``txt.exe``. Rich renders markup only
from the format string (values are passed as ``Text`` or escaped), but it passes control
characters through to the terminal. :func:`visible` turns each of them into a visible escape
such as ``\\x1b``, so the evidence stays readable and the terminal stays ours.

Only the terminal views use this module: exports (CSV, JSON) keep the exact data.
"""

from __future__ import annotations

from rich.markup import escape

from opencasb.text import visible

__all__ = ["MAX_CELL", "clip", "markup", "visible"]

MAX_CELL = 200
"""Characters of one table cell before it is cut (exports are never cut)."""


def clip(text: str, limit: int = MAX_CELL) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it was, then made visible.

    Cutting comes first, so a 50 MB field costs a slice, not a scan by the table renderer.
    """
    if len(text) <= limit:
        return visible(text)
    return f"{visible(text[:limit])}… ({len(text):,} chars)"


def markup(text: str) -> str:
    """``text`` ready to embed in a rich markup string: visible and with markup escaped."""
    return escape(visible(text, multiline=True))
