"""User-agent strings to browser, OS and device type, with ``ua-parser``.

``ua-parser`` is maintained (uap-core's rules) and its rules ship inside the installed
``ua-parser-builtins`` package, so nothing is fetched at run time. The device type is ours:
uap-core names devices (``iPad``, ``Pixel 8``, ``Spider``) but does not classify them.
"""

from __future__ import annotations

from dataclasses import dataclass

import ua_parser

__all__ = ["UserAgentInfo", "parse_user_agent"]

_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS"}
_DESKTOP_OS = {
    "Windows",
    "Mac OS X",
    "macOS",
    "Linux",
    "Ubuntu",
    "Fedora",
    "Debian",
    "Chrome OS",
    "ChromeOS",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "Solaris",
}
_TABLET_WORDS = ("ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 9", "sm-t")


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What a user-agent string says. ``device_type`` is one of ``desktop``, ``mobile``,
    ``tablet``, ``bot`` or ``other`` (a library or tool such as ``python-requests``); None
    fields mean the string did not say."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device_type: str | None


_EMPTY = UserAgentInfo(None, None, None, None, None)


def _version(*parts: str | None) -> str | None:
    out = []
    for p in parts:
        if p is None:
            break
        out.append(p)
    return ".".join(out) or None


def parse_user_agent(text: str | None) -> UserAgentInfo:
    """Parse ``text``; an empty or missing string gives all-None fields."""
    if not text or not text.strip():
        return _EMPTY
    result = ua_parser.parse(text)
    ua, os_, dev = result.user_agent, result.os, result.device
    browser = ua.family if ua is not None and ua.family != "Other" else None
    os_name = os_.family if os_ is not None and os_.family != "Other" else None
    low = text.lower()
    if dev is not None and dev.family == "Spider":
        kind: str | None = "bot"
    elif any(w in low for w in _TABLET_WORDS) or (
        os_name == "Android" and "mobile" not in low and "android" in low
    ):
        kind = "tablet"
    elif os_name in _MOBILE_OS or "mobile" in low:
        kind = "mobile"
    elif os_name in _DESKTOP_OS:
        kind = "desktop"
    elif browser is not None or os_name is not None:
        kind = "other"
    else:
        kind = "other" if "/" in text else None
    return UserAgentInfo(
        browser=browser,
        browser_version=_version(ua.major, ua.minor) if ua is not None and browser else None,
        os=os_name,
        os_version=_version(os_.major, os_.minor) if os_ is not None and os_name else None,
        device_type=kind,
    )
