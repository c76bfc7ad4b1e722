"""The policy templates shipped with OpenCASB: YAML files in this package's ``templates/``.

Each file holds one policy, disabled, with ``template:`` naming itself. A user switches a
template on by copying it, adjusting the scope, and enabling it; the copy is the user's
policy, the template stays as shipped.
"""

from __future__ import annotations

from importlib.resources import files

from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import read_policies
from opencasb.errors import NotFound

__all__ = ["load_templates", "template"]


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
