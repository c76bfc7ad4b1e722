"""Coercers and list readers of Office 365 audit records: never raise, return ``None`` (or an
empty container) for what is not the expected shape, so a normalizer stays total over odd
records. Shared by :mod:`.normalize`, :mod:`.details` and :mod:`.targets` (the hot path)."""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

__all__ = [
    "BIG",
    "EMPTY",
    "NOT_A_VALUE",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "clean",
    "json_or_text",
    "looks_like_email",
    "name_values",
    "parse_powershell_parameters",
    "present",
    "unwrap",
]

EMPTY: Final[dict[str, Any]] = {}
BIG: Final = 10**18
# Placeholders Microsoft writes instead of a value.
NOT_A_VALUE: Final = frozenset({"", "<null>", "null", "Not Available", "Unknown", "N/A"})


def as_str(value: Any) -> str | None:
    """A non-empty string, or a number rendered as one; anything else is None."""
    if type(value) is str:
        return value or None
    if type(value) is float or (type(value) is int and -BIG < value < BIG):
        return str(value)  # (a huge int would make str() raise)
    return None


def clean(value: Any) -> str | None:
    """A string that holds a value rather than one of Microsoft's placeholders."""
    # str and None (an absent key) first, without the call to as_str: clean runs ~15× a record
    if type(value) is str:
        return None if value in NOT_A_VALUE else value  # ("" is one of them)
    if value is None:
        return None
    text = as_str(value)
    return None if text is None or text in NOT_A_VALUE else text


def as_int(value: Any) -> int | None:
    """An int from an int or a string of digits (``"15"``); anything else is None."""
    if type(value) is int:
        return value
    if type(value) is str and 0 < len(value) <= 9 and value.isascii():
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else EMPTY


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def looks_like_email(text: str) -> bool:
    at = text.find("@")
    return 0 < at < len(text) - 1 and " " not in text and "|" not in text


def json_or_text(text: str) -> Any:
    """``text`` parsed as JSON, else ``text`` itself."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, and text that is not valid UTF-8
        return text


# The loops over every field of a record spell present out: the call costs more than the test.


def present(value: Any) -> bool:
    return value is not None and value != "" and value != "<null>"


def unwrap(value: Any) -> Any:
    """Azure AD writes values as JSON arrays in a string (``'[\\r\\n  true\\r\\n]'``): a
    one-element array becomes its element, any other array a list; other text stays text."""
    if type(value) is str and value.startswith("[") and value.endswith("]"):
        parsed = json_or_text(value)
        if isinstance(parsed, list):
            return parsed[0] if len(parsed) == 1 else parsed or None
    return value


def name_values(value: Any) -> dict[str, Any]:
    """``[{"Name": n, "Value": v}, ...]`` (or PowerShell-style text) as ``{n: v}``."""
    if value is None:  # the usual case: the record has no such list
        return EMPTY
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for entry in value:
            if isinstance(entry, dict):
                name = entry.get("Name")
                if type(name) is str and name:
                    out[name] = entry.get("Value")
        return out
    if type(value) is str:
        return parse_powershell_parameters(value)
    return EMPTY


# -Name "quoted value" | -Name ("a","b") | -Name bare | -Switch
_PS_PARAM: Final = re.compile(r'(?:^|\s)-(\w+)(?:\s+("[^"]*"|\([^)]*\)|[^\s"(-]\S*))?')
_PS_ITEM: Final = re.compile(r'"([^"]*)"|([^,\s()"]+)')


def parse_powershell_parameters(text: str) -> dict[str, Any]:
    """Best-effort ``-Name "v" -List ("a","b") -Switch`` → ``{"Name": "v", "List": ["a", "b"],
    "Switch": True}``; text that holds no parameter gives ``{}``. Never raises."""
    out: dict[str, Any] = {}
    for name, value in _PS_PARAM.findall(text):
        if not value:  # the value group never matches empty text: this is a switch
            out[name] = True
        elif value.startswith('"'):
            out[name] = value[1:-1]
        elif value.startswith("("):
            out[name] = [quoted or bare for quoted, bare in _PS_ITEM.findall(value)]
        else:
            out[name] = value
    return out
