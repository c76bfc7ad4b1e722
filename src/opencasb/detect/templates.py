"""The policy templates shipped with OpenCASB: YAML files in this package's ``templates/``.

Each file holds one policy, disabled, with ``template:`` naming itself. A user switches a
template on by copying it, adjusting the scope, and enabling it; the copy is the user's
policy, the template stays as shipped.
"""

from __future__ import annotations

import re
from importlib.resources import files

from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import read_policies
from opencasb.errors import NotFound

__all__ = ["load_templates", "template", "template_yaml"]


def load_templates() -> list[Policy]:
    """Every shipped template, sorted by id.

    Raises:
        DocumentError: a shipped template is broken (a packaging bug; tests load them all).
    """
    out: list[Policy] = []
    folder = files("opencasb.detect").joinpath("templates")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.extend(read_policies(entry.read_text(encoding="utf-8"), f"templates/{entry.name}"))
    return sorted(out, key=lambda p: p.id)


def template(template_id: str) -> Policy:
    """The shipped template ``template_id``.

    Raises:
        NotFound: no template has that id.
    """
    templates = load_templates()
    for policy in templates:
        if policy.id == template_id:
            return policy
    raise NotFound(
        f"no policy template {template_id!r}",
        fix=f"use one of: {', '.join(p.id for p in templates)}",
    )


_DISABLED = re.compile(r"^enabled: false$", re.MULTILINE)


def template_yaml(template_id: str) -> str:
    """The YAML of the shipped template ``template_id``, as a file the user fills in and
    imports: the template's text (its comments say what to fill in) with ``enabled: true``,
    so that ``opencasb policies import`` stores it enabled and reports, by line and column,
    any ``<placeholder>`` still left in.

    Raises:
        NotFound: no template has that id.
    """
    template(template_id)  # NotFound, naming the ids there are
    folder = files("opencasb.detect").joinpath("templates")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        text = entry.read_text(encoding="utf-8")
        if any(p.id == template_id for p in read_policies(text, f"templates/{entry.name}")):
            return _DISABLED.sub("enabled: true", text, count=1)
    raise NotFound(f"no policy template {template_id!r}")  # pragma: no cover (checked above)
