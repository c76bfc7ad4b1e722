"""``opencasb policies``: the stored activity policies and the shipped templates.

Policies live in the store (``policies``); the detection stage (run by ``opencasb sync`` and
the demo after each ingest pass) evaluates the enabled ones. A template is switched on by
``enable TEMPLATE_ID``, which stores an enabled copy under the template's id.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.formats import LinesFormat, check_format
from opencasb.cli.terminal import clip, markup
from opencasb.errors import ConfigError, DocumentError, NotFound

__all__ = ["register"]

policies = typer.Typer(help="Activity policies: list, templates, enable, disable, import, export.")


@policies.command("list")
def list_policies(
    ctx: typer.Context,
    fmt: LinesFormat = "table",
) -> None:
    """The stored policies: id, name, severity, enabled, and why one is disabled; then the
    built-in anomaly detectors that went over their daily alert limit today."""
    from opencasb.clock import SystemClock
    from opencasb.detect.stage import stored_policies, suppressed_today

    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt)
        records = state.store.detection.list_policies()
        by_id = {p.id: p for p in stored_policies(records)}
        suppressed = suppressed_today(state.store, SystemClock().now())
        # the anomaly detectors over their daily alert limit today (they are not stored)
        anomalies = sorted((k, v) for k, v in suppressed.items() if k.startswith("anomaly."))
        if fmt == "json":
            for r in records:
                p = by_id.get(r.id)
                row: dict[str, Any] = {
                    "id": r.id,
                    "name": r.name,
                    "enabled": r.enabled,
                    "disabled_reason": r.disabled_reason,
                    "severity": str(p.severity) if p else None,
                    "suppressed_today": suppressed.get(r.id, 0),
                    "updated_at": r.updated_at.isoformat(),
                }
                sys.stdout.write(orjson.dumps(row).decode() + "\n")
            for pid, over in anomalies:
                row = {"id": pid, "name": "built-in anomaly detection", "enabled": True}
                row["suppressed_today"] = over
                sys.stdout.write(orjson.dumps(row).decode() + "\n")
            return
        if not records and not anomalies:
            console.print("no policies; 'opencasb policies templates' lists what can be enabled")
            return
        table = Table()
        for col in ("id", "name", "severity", "enabled", "note"):
            table.add_column(col, overflow="fold")
        for r in records:
            p = by_id.get(r.id)
            severity = str(p.severity) if p else "(does not load)"
            cells = (clip(r.id), clip(r.name), severity, "yes" if r.enabled else "no")
            # over the daily alert limit: counted, not raised, so no alert shows them
            over = suppressed.get(r.id, 0)
            note = [f"{over:,} suppressed today (daily alert limit)"] if over else []
            if r.disabled_reason:
                note.append(f"disabled because: {clip(r.disabled_reason, 400)}")
            table.add_row(*(Text(c) for c in cells), Text("; ".join(note)))
        for pid, over in anomalies:  # a built-in detector shows once it has gone over
            over_text = f"{over:,} suppressed today (daily alert limit)"
            row_cells = (pid, "built-in anomaly detection", "", "yes", over_text)
            table.add_row(*(Text(c) for c in row_cells))
        console.print(table)


@policies.command("templates")
def templates(
    yaml_id: Annotated[
        str | None,
        typer.Option(
            "--yaml",
            metavar="ID",
            help="Print template ID as YAML, to fill in and 'opencasb policies import'.",
        ),
    ] = None,
) -> None:
    """The shipped templates a policy can be made from: 'opencasb policies enable ID'; a
    template with places to fill in (a <placeholder>): '--yaml ID > file.yaml', edit, import."""
    from opencasb.detect.templates import load_templates, template_yaml

    with handle_errors():
        if yaml_id is not None:
            # Plain text, not through rich: the YAML's brackets are not markup.
            sys.stdout.write(template_yaml(yaml_id))
            return
        table = Table()
        for col in ("id", "severity", "tactic", "description"):
            table.add_column(col, overflow="fold")
        for p in load_templates():
            tactic = str(p.tactic) if p.tactic else ""
            table.add_row(*(Text(c) for c in (p.id, str(p.severity), tactic, p.description)))
        console.print(table)


@policies.command("enable")
def enable(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="A stored policy or a template.")],
) -> None:
    """Enable a stored policy, or store an enabled copy of the template ID."""
    from opencasb.detect.policy_file import refuse_placeholders
    from opencasb.detect.stage import store_policy
    from opencasb.detect.templates import template

    state: Ctx = ctx.obj
    with handle_errors():
        det = state.store.detection
        stored = next((r for r in det.list_policies() if r.id == policy_id), None)
        if stored is not None:
            fix = (
                f"opencasb policies export > policies.yaml, replace each <placeholder> of "
                f"{policy_id} in policies.yaml (the fields above), then opencasb policies "
                f"import policies.yaml and opencasb policies enable {policy_id}"
            )
            refuse_placeholders(policy_id, stored.definition, fix)
            det.set_policy_enabled(policy_id, True)
            record_cli(state.store, "policy.enable", target=policy_id)
            console.print(f"enabled {markup(policy_id)}")
            return
        try:
            policy = template(policy_id)
        except NotFound as exc:
            raise NotFound(
                f"no stored policy or template {policy_id!r}", fix=exc.fix or ""
            ) from exc
        try:
            store_policy(state.store, dataclasses.replace(policy, enabled=True))
        except DocumentError as exc:
            raise _needs_filling(policy_id, exc) from exc
        record_cli(state.store, "policy.enable", target=policy_id, detail={"template": policy_id})
        console.print(f"enabled {markup(policy_id)} (from the template)")


def _field(path: str) -> str:
    """``scope.include_users[0]``: a place in the policy, without the stored copy's
    ``policies[0].``."""
    return re.sub(r"^policies\[\d+\]\.", "", path)


def _needs_filling(policy_id: str, exc: DocumentError) -> ConfigError:
    """The error for a template that cannot be enabled as shipped: which fields to fill in
    and the commands that do it. (The problems' places are in the stored copy, a file the
    user does not have: only the field paths are shown.)"""
    fields = [f"{_field(p.path)} ({p.message.removeprefix('replace the placeholder ')})"
              for p in exc.problems if p.message.startswith("replace the placeholder")]  # fmt: skip
    fields = [f.replace(" before enabling this policy)", ")") for f in fields]
    what = ", ".join(fields) or "; ".join(p.message for p in exc.problems)
    file = f"{policy_id}.yaml"
    return ConfigError(
        f"template {policy_id!r} has to be filled in before it can be enabled: {what}",
        fix=f"opencasb policies templates --yaml {policy_id} > {file}, replace each "
        f"<placeholder> in {file} (the field{'s' if len(fields) != 1 else ''} above), then "
        f"opencasb policies import {file}",
        code="template_needs_values",
    )


@policies.command("disable")
def disable(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="A stored policy.")],
) -> None:
    """Disable a stored policy (its alerts stay)."""
    state: Ctx = ctx.obj
    with handle_errors():
        state.store.detection.set_policy_enabled(policy_id, False, "disabled by a user")
        record_cli(state.store, "policy.disable", target=policy_id)
        console.print(f"disabled {markup(policy_id)}")


@policies.command("import")
def import_policies(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A YAML policy file.")],
) -> None:
    """Store the policies of a YAML file (replacing those with the same ids). Every problem
    of the file is reported with its line and column, and nothing is stored then."""
    from opencasb.detect import load_policies
    from opencasb.detect.stage import store_policy

    state: Ctx = ctx.obj
    with handle_errors():
        loaded = load_policies(path)
        for p in loaded:
            store_policy(state.store, p)
        enabled = sum(p.enabled for p in loaded)
        for p in loaded:
            record_cli(state.store, "policy.import", target=p.id,
                       detail={"file": str(path), "enabled": p.enabled})  # fmt: skip
        console.print(f"imported {len(loaded)} policies ({enabled} enabled)")


@policies.command("export")
def export(ctx: typer.Context) -> None:
    """Write the stored policies as one YAML file to standard output."""
    from opencasb.detect import dump_policies
    from opencasb.detect.stage import stored_policies

    state: Ctx = ctx.obj
    with handle_errors():
        records = state.store.detection.list_policies()
        loaded = stored_policies(records)
        if len(loaded) < len(records):
            err_console.print("some stored policies do not load and are left out")
        sys.stdout.write(dump_policies(loaded))


def register(app: typer.Typer) -> None:
    app.add_typer(policies, name="policies")
