"""Control characters made visible: the one rule for text from outside reaching a terminal.

Audit data and API error text are attacker-chosen and may carry terminal escapes (``ESC [2J``,
``ESC ] 52;...``) or bidirectional overrides. :func:`visible` shows each such character as an
escape such as ``\\x1b``. The CLI's views (:mod:`opencasb.cli.terminal`) and the text log
format both use it; exports and JSON logs keep the exact data (JSON escapes controls itself).
"""

from __future__ import annotations

__all__ = ["visible"]


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
