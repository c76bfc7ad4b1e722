"""Microsoft's clouds and the three hosts each uses (api-office365.md §1.1, §1.4.1).

A tenant lives in exactly one cloud; its login host issues the tokens, its Management Activity
API host serves the audit content and its Graph host the directory. The OAuth *resource* of a
token is the API's canonical URI, which stays the same when ``endpoint`` points every host at
one place (the sandbox, or a TLS-inspecting relay): the token says which API it is for, the
URL only says where to send it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opencasb.errors import ConfigError
from opencasb.http.links import split_url

__all__ = ["CLOUDS", "Cloud", "Endpoints", "endpoints_for"]


@dataclass(frozen=True, slots=True)
class Cloud:
    """One Microsoft cloud: where to log in, and the resource URIs of its two APIs."""

    name: str
    title: str
    login: str
    manage: str
    graph: str


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud(
            "commercial",
            "Commercial (worldwide)",
            "https://login.microsoftonline.com",
            "https://manage.office.com",
            "https://graph.microsoft.com",
        ),
        Cloud(
            "gcc",
            "GCC (US government community)",
            "https://login.microsoftonline.com",
            "https://manage-gcc.office.com",
            "https://graph.microsoft.com",
        ),
        Cloud(
            "gcc_high",
            "GCC High",
            "https://login.microsoftonline.us",
            "https://manage.office365.us",
            "https://graph.microsoft.us",
        ),
        Cloud(
            "dod",
            "DoD",
            "https://login.microsoftonline.us",
            "https://manage.protection.apps.mil",
            "https://dod-graph.microsoft.us",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where requests go (``*_url``) and which resource each token is for (``*_resource``)."""

    login_url: str
    manage_url: str
    graph_url: str
    manage_resource: str
    graph_resource: str


def endpoints_for(cloud: str, endpoint: str | None = None) -> Endpoints:
    """The endpoints of ``cloud``; ``endpoint`` (an https origin) replaces all three hosts.

    Raises:
        ConfigError: an unknown cloud, or an override that is not an https origin.
    """
    try:
        c = CLOUDS[cloud]
    except KeyError:
        raise ConfigError(
            f"unknown Microsoft cloud {cloud!r}",
            fix=f"use one of: {', '.join(CLOUDS)}",
        ) from None
    if not endpoint:
        return Endpoints(c.login, c.manage, c.graph, c.manage, c.graph)
    try:
        parsed, rest = split_url(endpoint.rstrip("/"))
    except ValueError as exc:
        raise ConfigError(
            f"the endpoint override {_shown(endpoint)} is not an https origin: {exc}",
            fix="give https://host[:port] with no path and no credentials",
        ) from None
    if parsed.scheme != "https" or rest != "/":
        raise ConfigError(
            f"the endpoint override {_shown(endpoint)} is not an https origin",
            fix="give https://host[:port] with no path (MSAL refuses plain http)",
        )
    origin = str(parsed)
    return Endpoints(origin, origin, origin, c.manage, c.graph)


def _shown(endpoint: str) -> str:
    """The endpoint for an error message, without the password it may carry."""
    return repr(re.sub(r"//[^/@]*@", "//***@", endpoint))
