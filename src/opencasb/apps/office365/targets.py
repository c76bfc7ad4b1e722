"""The targets of an Office 365 activity: the files, mail items, mailboxes, users, groups,
roles, teams and alerts a record names, deduplicated, at most ``_MAX_TARGETS``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from opencasb.apps.office365.values import as_int, clean, unwrap
from opencasb.model.activity import Target

__all__ = ["targets_of"]

_MAX_TARGETS: Final = 50  # a Teams record can list a whole team's members
# Exchange cmdlet parameters that name another object the cmdlet acts on.
_PARAM_TARGETS: Final[dict[str, str]] = {
    "Mailbox": "Mailbox",
    "User": "User",
    "Trustee": "User",
    "Member": "User",
}
# ModifiedProperties that name the role or group a directory change is about.
_MODIFIED_TARGETS: Final[dict[str, str]] = {
    "Role.DisplayName": "Role",
    "Group.DisplayName": "Group",
}


def targets_of(
    raw: Mapping[str, Any], operation: str, params: dict[str, Any]
) -> tuple[Target, ...]:
    """``params`` is ``name_values(Parameters)``."""
    get = raw.get
    found: list[Target] = []
    object_id = clean(get("ObjectId"))
    file_name = clean(get("SourceFileName"))
    if file_name:
        found.append(Target(object_id, clean(get("ItemType")) or "File", file_name))
    if "-" in operation:  # an Exchange cmdlet: Verb-Noun, the noun names what it acted on
        identity = clean(params.get("Identity")) or object_id
        if identity:
            name = clean(params.get("Name"))
            found.append(Target(identity, operation.partition("-")[2] or None, name))
        for key, kind in _PARAM_TARGETS.items():
            value = clean(params.get(key))
            if value:
                found.append(Target(value, kind, value))
    if "TargetUserOrGroupName" in raw:  # a sharing record
        sharee = clean(raw["TargetUserOrGroupName"])
        if sharee:
            found.append(Target(sharee, clean(get("TargetUserOrGroupType")), sharee))
    aad = get("Target")
    if isinstance(aad, list):
        target = _aad_target(aad)
        if target is not None:
            found.append(target)
    modified = get("ModifiedProperties")
    if isinstance(modified, list):
        for entry in modified:
            if not isinstance(entry, dict):
                continue
            prop = entry.get("Name")
            # Name may be any JSON value; only a string can name a known property.
            target_type = _MODIFIED_TARGETS.get(prop) if isinstance(prop, str) else None
            if target_type:
                value = clean(unwrap(entry.get("NewValue")) or unwrap(entry.get("OldValue")))
                if value:
                    found.append(Target(None, target_type, value))
    _mail_targets(get, found)
    if "TeamName" in raw or "Members" in raw:
        _team_targets(get, found)
    if "AlertId" in raw:
        alert = clean(raw["AlertId"])
        if alert:
            found.append(Target(alert, "Alert", clean(get("Name")), clean(get("AlertEntityId"))))
    if object_id:
        for target in found:
            if object_id == target.id or object_id == target.alternate_id:
                break
        else:  # no target names the object yet
            found.append(Target(object_id, None, None))
    if len(found) == 1:  # the usual case: nothing to dedupe
        target = found[0]
        return (target,) if target.id or target.name else ()
    return tuple(_dedupe(found)[:_MAX_TARGETS])


def _aad_target(entries: list[Any]) -> Target | None:
    """Azure AD lists one object as several {ID, Type} facets (``User_<guid>``, ``<guid>``,
    ``User``, a name, a UPN, an SPN); they are folded back into one Target."""
    ident = kind = name = alternate = None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        value = clean(entry.get("ID"))
        facet = as_int(entry.get("Type"))
        if value is None:
            continue
        if facet in (0, 2):
            prefix, underscore, rest = value.partition("_")
            if underscore and rest:
                kind = kind or prefix
                ident = ident or rest
            elif "-" in value or any(c.isdigit() for c in value):
                ident = ident or value
            else:
                kind = kind or value  # a bare class name: "User", "ServicePrincipal"
        elif facet == 1:
            name = name or value
        elif facet in (4, 5):
            alternate = alternate or value
    if ident is None and name is None and alternate is None:
        return None
    return Target(ident, kind, name or alternate, alternate)


def _mail_targets(get: Callable[[str], Any], found: list[Target]) -> None:
    item = get("Item")
    if isinstance(item, dict):
        message_id = clean(item.get("InternetMessageId"))
        found.append(
            Target(clean(item.get("Id")), "MailItem", clean(item.get("Subject")), message_id)
        )
    affected = get("AffectedItems")
    if isinstance(affected, list):
        for entry in affected:
            if isinstance(entry, dict):
                found.append(
                    Target(
                        clean(entry.get("Id")),
                        "MailItem",
                        clean(entry.get("Subject")),
                        clean(entry.get("InternetMessageId")),
                    )
                )
    owner = clean(get("MailboxOwnerUPN"))
    if owner:
        found.append(Target(clean(get("MailboxGuid")), "Mailbox", owner, owner))
    meta = get("SharePointMetaData")
    if isinstance(meta, dict):
        url = clean(meta.get("FilePathUrl"))
        if url:
            found.append(Target(url, "File", clean(meta.get("FileName"))))
    meta = get("ExchangeMetaData")
    if isinstance(meta, dict):
        message = clean(meta.get("MessageID"))
        if message:
            found.append(Target(message, "MailItem", clean(meta.get("Subject"))))


def _team_targets(get: Callable[[str], Any], found: list[Target]) -> None:
    team = clean(get("TeamName"))
    if team:
        found.append(Target(clean(get("TeamGuid")), "Team", team))
    members = get("Members")
    if isinstance(members, list):
        for member in members:
            if isinstance(member, dict):
                upn = clean(member.get("UPN"))
                found.append(Target(upn, "User", clean(member.get("DisplayName")) or upn, upn))


def _dedupe(targets: list[Target]) -> list[Target]:
    seen: set[tuple[str | None, str | None, str | None]] = set()
    kept = []
    for target in targets:
        key = (target.id, target.type, target.name)
        if key not in seen and (target.id or target.name):
            seen.add(key)
            kept.append(target)
    return kept
