"""``--format``: every command that takes it rejects an unknown one the same way (exit
status 1, the value and the choices named), before it reads anything."""

from __future__ import annotations

import pytest

from opencasb.cli.formats import check_format
from opencasb.errors import ConfigError

from .conftest import Cli, flat

COMMANDS = [
    (("alerts",), "use table or json"),
    (("alerts", "list"), "use table or json"),
    (("alerts", "show", "no-such-alert"), "use text or json"),
    (("apps",), "use table or json"),
    (("activities",), "use table, json or csv"),
    (("iptags", "list"), "use table or json"),
    (("iptags", "lookup", "192.0.2.1"), "use table or json"),
    (("policies", "list"), "use table or json"),
    (("rejected",), "use table or json"),
    (("rejected", "show", "1"), "use text or json"),
    (("sigma", "list"), "use table or json"),
    (("sigma", "check"), "use table or json"),
]


@pytest.mark.parametrize(
    ("command", "fix"), COMMANDS, ids=lambda c: "-".join(c) if isinstance(c, tuple) else ""
)
def test_an_unknown_format_is_refused_naming_the_choices(
    cli: Cli, command: tuple[str, ...], fix: str
) -> None:
    result = cli(*command, "--format", "yaml")
    assert result.exit_code == 1, result.output
    assert "unknown format 'yaml'" in flat(result.stderr) and fix in flat(result.stderr)


def test_check_format() -> None:
    check_format("json")
    check_format("csv", ("table", "json", "csv"))
    with pytest.raises(ConfigError, match="unknown format 'text'") as info:
        check_format("text")
    assert info.value.fix == "use table or json"
    with pytest.raises(ConfigError) as info:
        check_format("table", ("text", "json"))
    assert info.value.fix == "use text or json"
