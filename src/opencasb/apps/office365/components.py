"""The components of the Office 365 connect dialog and the content types they need.

The dialog's components (mcas-features.md §1.3) are coarser than the API's content types in
one place and finer in another: the three Azure AD components all come from
``Audit.AzureActiveDirectory`` and are told apart per record; "Office 365 activities" is the
other four content types. "Azure AD users and groups" is the Graph inventory and always on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opencasb.errors import ConfigError

__all__ = [
    "AAD",
    "COMPONENTS",
    "CONTENT_TYPES",
    "DEFAULT_COMPONENTS",
    "Component",
    "aad_kind",
    "content_types_for",
    "parse_components",
    "record_filter",
]

AAD = "Audit.AzureActiveDirectory"
CONTENT_TYPES = (AAD, "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All")


@dataclass(frozen=True, slots=True)
class Component:
    key: str
    title: str
    content_types: tuple[str, ...]
    always_on: bool = False


COMPONENTS: dict[str, Component] = {
    c.key: c
    for c in (
        Component("users_groups", "Azure AD users and groups", (), always_on=True),
        Component("aad_management", "Azure AD management events", (AAD,)),
        Component("aad_signins", "Azure AD sign-in events", (AAD,)),
        Component("aad_apps", "Azure AD apps", (AAD,)),
        Component("activities", "Office 365 activities", CONTENT_TYPES[1:]),
        Component("files", "Office 365 files", ()),
    )
}
DEFAULT_COMPONENTS = ("users_groups", "aad_management", "aad_signins", "aad_apps", "activities")
_AAD_KINDS = {"aad_management": "management", "aad_signins": "signin", "aad_apps": "apps"}
_APP_WORDS = (
    "application",
    "service principal",
    "oauth2permissiongrant",
    "permission grant",
    "app role assignment",
    "consent",
)


def parse_components(text: str | Iterable[str], *, file_monitoring: bool) -> tuple[str, ...]:
    """The canonical component list of a comma-separated string or an iterable of keys.

    "Azure AD users and groups" is always added. "Office 365 files" needs "Office 365
    activities" and file monitoring switched on in the settings, as in the commercial product.

    Raises:
        ConfigError: an unknown component, or files without what it needs (saying why).
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    keys = {k.strip().lower().replace("-", "_") for k in items if k.strip()}
    unknown = sorted(keys - COMPONENTS.keys())
    if unknown:
        raise ConfigError(
            f"unknown Office 365 component(s): {', '.join(unknown)}",
            fix=f"choose from: {', '.join(COMPONENTS)}",
        )
    keys.add("users_groups")
    if "files" in keys:
        if "activities" not in keys:
            raise ConfigError(
                "the Office 365 files component needs the Office 365 activities component",
                meaning="file events come from the Office 365 activity feed",
                fix="add activities to the components, or drop files",
            )
        if not file_monitoring:
            raise ConfigError(
                "the Office 365 files component needs file monitoring switched on",
                meaning="file monitoring is off in the settings, so file data would be dropped",
                fix="set OPENCASB_FILE_MONITORING=true (or file_monitoring = true in the config "
                "file), or drop the files component",
            )
    return tuple(k for k in COMPONENTS if k in keys)


def content_types_for(components: Iterable[str]) -> tuple[str, ...]:
    """The content types to subscribe to and fetch, in a stable order."""
    wanted = {ct for key in components for ct in COMPONENTS[key].content_types}
    return tuple(ct for ct in CONTENT_TYPES if ct in wanted)


def aad_kind(record: Mapping[str, Any]) -> str:
    """Which Azure AD component a record of ``Audit.AzureActiveDirectory`` belongs to:
    ``signin``, ``apps`` or ``management``."""
    op = str(record.get("Operation") or "")
    if op in ("UserLoggedIn", "UserLoginFailed") or str(record.get("RecordType")) in ("9", "15"):
        return "signin"
    low = op.lower()
    if any(word in low for word in _APP_WORDS):
        return "apps"
    return "management"


def record_filter(
    content_type: str, components: Iterable[str]
) -> Callable[[Mapping[str, Any]], bool] | None:
    """A predicate keeping the records of ``content_type`` the chosen components want, or
    None when every record is wanted."""
    if content_type != AAD:
        return None
    kinds = {_AAD_KINDS[k] for k in components if k in _AAD_KINDS}
    if len(kinds) == len(_AAD_KINDS):
        return None
    return lambda record: aad_kind(record) in kinds
