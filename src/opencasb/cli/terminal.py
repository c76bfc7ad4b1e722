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

__all__ = ["MAX_CELL", "clip", "markup", "visible"]

MAX_CELL = 200
"""Characters of one table cell before it is cut (exports are never cut)."""


def _escape_of(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


# C0 controls, DEL, C1 controls (0x9b is an 8-bit CSI, 0x9d an 8-bit OSC), and the
# invisible bidirectional overrides and isolates, plus the line and paragraph separators.
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
_INVISIBLE = [0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F]
_TABLE = {code: _escape_of(code) for code in (*_CONTROLS, *_INVISIBLE)}
_TABLE_MULTILINE = {code: text for code, text in _TABLE.items() if code not in (0x0A, 0x09)}


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    With ``multiline``, newlines and tabs stay (messages of several lines); otherwise they
    are escaped too (a table cell is one value).
    """
    return text.translate(_TABLE_MULTILINE if multiline else _TABLE)


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
