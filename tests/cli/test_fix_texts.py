"""Every command a message tells the user to run exists, with the options it names.

Fix texts are read straight from the source (every string literal under src/opencasb, the
formatted parts of f-strings as ``{}``), so a renamed command or option breaks this test
instead of a user's day. "Reconnect" is not a command: a text that says it must name one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from opencasb.cli import app

SRC = Path(__file__).resolve().parents[2] / "src" / "opencasb"
ROOT = typer.main.get_command(app)
_COMMAND = re.compile(r"`+opencasb ([^`]+)`+")


def _strings(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _commands() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for text in _strings(ast.parse(path.read_text())):
            for match in _COMMAND.finditer(text):
                found.append((str(path.relative_to(SRC)), match.group(1)))
    return found


def _resolves(cmd: Any, words: list[str]) -> bool:
    """True when ``words`` name a subcommand path from ``cmd`` whose options exist.

    (Typer vendors its own click, so groups are told by their ``commands``, not by type.)
    """
    subcommands = getattr(cmd, "commands", None)
    if subcommands is not None and words and not words[0].startswith("-"):
        head, rest = words[0], words[1:]
        if head == "{}":  # a formatted app name: some subcommand must fit
            return any(_resolves(sub, rest) for sub in subcommands.values())
        # "okta|office365": each alternative must exist.
        heads = head.split("|")
        return all(h in subcommands and _resolves(subcommands[h], rest) for h in heads)
    options = {opt for p in cmd.params for opt in p.opts}
    named = [w.split("=")[0] for w in words if w.startswith("--")]
    return all(opt in options for opt in named)


COMMANDS = _commands()


def test_messages_name_commands() -> None:
    assert len(COMMANDS) > 20  # the scan finds them
    assert any("apps edit NAME --new-secret" in c for _, c in COMMANDS)


@pytest.mark.parametrize(("where", "command"), COMMANDS)
def test_every_named_command_exists(where: str, command: str) -> None:
    words = [w for w in command.split() if w not in ("...",)]
    assert _resolves(ROOT, words), f"{where}: `opencasb {command}` is not a command"


def test_the_check_itself_refuses_what_does_not_exist() -> None:
    assert not _resolves(ROOT, ["apps", "rotate", "NAME"])
    assert not _resolves(ROOT, ["apps", "edit", "NAME", "--token"])
    assert not _resolves(ROOT, ["reconnect"])
    assert _resolves(ROOT, ["connect", "{}", "--name", "{}", "--replace"])


def test_no_message_says_reconnect_without_a_command() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for text in _strings(ast.parse(path.read_text())):
            low = text.lower()
            if ("reconnect" in low or "connect again" in low) and "opencasb " not in low:
                bad.append(f"{path.relative_to(SRC)}: {text[:80]!r}")
    assert bad == []
