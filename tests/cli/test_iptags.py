"""`opencasb iptags`: add, list, lookup, remove, import (every bad line named, nothing
stored then), re-import, --replace, export that imports back; and the stored tags in
`opencasb activities --filter` and in the detection of `opencasb sync`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.cli.conftest import Cli, assert_clean, flat, table_rows


def _stored(cli: Cli) -> list[dict[str, object]]:
    out = cli.ok("iptags", "list", "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_add_list_lookup_remove(cli: Cli) -> None:
    assert "no IP ranges" in cli.ok("iptags", "list").stdout
    added = cli.ok("iptags", "add", "203.0.113.0/28", "--tag", "VPN", "--name", "Berlin VPN")
    assert "added 203.0.113.0/28 tagged vpn (id 1)" in flat(added.stdout)
    cli.ok("iptags", "add", "203.0.113.0/24", "--tag", "corp", "--name", "[bold]HQ[/]")
    cli.ok("iptags", "add", "2001:db8::/32", "--tag", "cloud")
    rows = table_rows(cli.ok("iptags", "list").stdout)
    assert rows[0] == ["id", "tag", "network", "name", "source", "added", "by"]
    # by tag, then address; the name is the user's text, printed as it is (not as markup)
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [
        ("cloud_provider", "2001:db8::/32", ""),
        ("corporate", "203.0.113.0/24", "[bold]HQ[/]"),
        ("vpn", "203.0.113.0/28", "Berlin VPN"),
    ]
    assert all(r[4] == "cli" and r[6].startswith("cli") for r in rows[1:])
    only = cli.ok("iptags", "list", "--tag", "vpn", "--format", "json").stdout.splitlines()
    assert [json.loads(x)["network"] for x in only] == ["203.0.113.0/28"]
    found = cli.ok("iptags", "lookup", "203.0.113.5")
    assert "203.0.113.5: corporate, vpn" in flat(found.stdout)
    body = json.loads(cli.ok("iptags", "lookup", "203.0.113.200", "--format", "json").stdout)
    assert body["tags"] == ["corporate"] and body["ranges"][0]["name"] == "[bold]HQ[/]"
    assert "no tag" in cli.ok("iptags", "lookup", "192.0.2.1").stdout
    twice = cli("iptags", "add", "203.0.113.0/28", "--tag", "vpn")
    assert twice.exit_code == 1 and "already tagged vpn (id 1, from cli)" in flat(twice.stderr)
    bad = cli("iptags", "add", "203.0.113.5/24", "--tag", "vpn")
    assert bad.exit_code == 1 and "host bits set" in flat(bad.stderr)
    removed = cli.ok("iptags", "remove", "203.0.113.0/24")
    assert "removed 203.0.113.0/24 tagged corporate" in flat(removed.stdout)
    cli.ok("iptags", "remove", "1")
    assert [r["network"] for r in _stored(cli)] == ["2001:db8::/32"]
    gone = cli("iptags", "remove", "1")
    assert_clean(gone)
    assert gone.exit_code == 1 and "no stored range '1'" in flat(gone.stderr)


def test_import_names_every_bad_line_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok("iptags", "add", "198.51.100.0/24", "--tag", "vpn")
    good = [f"10.{i}.0.0/16" for i in range(5)]
    lines = [*good, "10.0.0.5/8", "banana,tor", "10.9.0.0/16,9lives", *good]
    lines += [f"bad{i}" for i in range(60)]  # more than the error message's own 50
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    result = cli("iptags", "import", str(path), "--tag", "tor")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "63 bad line(s)" in err
    assert f"{path}:6: '10.0.0.5/8' has host bits set" in err
    assert f"{path}:7: 'banana' is not a network" in err
    assert f"{path}:8: '9lives' is not a tag" in err
    assert f"{path}:{len(lines)}: 'bad59' is not a network" in err  # the last one too
    assert "nothing from the file was imported" in err
    assert [r["network"] for r in _stored(cli)] == ["198.51.100.0/24"]


def test_import_again_replaces_the_files_ranges_and_replace_takes_the_tag(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("iptags", "add", "198.51.100.0/24", "--tag", "tor", "--name", "by hand")
    cli.ok("iptags", "add", "192.0.2.0/24", "--tag", "vpn")
    path = tmp_path / "exits.txt"
    path.write_text("# Tor exits\n185.220.102.0/24\n185.220.103.0/24  # two\n")
    first = cli.ok("iptags", "import", str(path), "--tag", "tor")
    assert "as file:exits.txt: 2 added, 0 removed, 0 unchanged" in flat(first.stdout)
    path.write_text("185.220.103.0/24\n185.220.104.0/24,tor,new exit\n")
    again = cli.ok("iptags", "import", str(path), "--tag", "tor")
    assert "1 added, 1 removed, 1 unchanged" in flat(again.stdout)
    by_source = Counter(str(r["source"]) for r in _stored(cli))
    assert by_source == {"cli": 2, "file:exits.txt": 2}
    cli.ok("iptags", "import", str(path), "--tag", "tor", "--replace")
    assert sorted((str(r["network"]), str(r["source"])) for r in _stored(cli)) == [
        ("185.220.103.0/24", "file:exits.txt"),
        ("185.220.104.0/24", "file:exits.txt"),
        ("192.0.2.0/24", "cli"),  # another tag: left alone
    ]
    missing = cli("iptags", "import", str(tmp_path / "nope.txt"), "--tag", "tor")
    assert missing.exit_code == 1 and "cannot read" in flat(missing.stderr)


def test_export_imports_back_into_another_store(cli: Cli, tmp_path: Path) -> None:
    cli.ok("iptags", "add", "2001:db8::/32", "--tag", "cloud", "--name", "Acme, Inc.")
    cli.ok("iptags", "add", "10.0.0.0/8", "--tag", "corporate")
    cli.ok("iptags", "add", "192.0.2.1-192.0.2.9", "--tag", "threat_intel")
    text = cli.ok("iptags", "export").stdout
    assert text.splitlines()[0] == "network,tag,name"
    assert cli.ok("iptags", "export", "--tag", "corporate").stdout.splitlines()[1:] == [
        "10.0.0.0/8,corporate,"
    ]
    path = tmp_path / "all.csv"
    path.write_text(text)
    other = Cli(tmp_path / "other", cli.served)
    other.ok("iptags", "import", str(path))
    key = ("network", "tag", "name")
    assert sorted(tuple(r[k] for k in key) for r in _stored(other)) == sorted(
        tuple(r[k] for k in key) for r in _stored(cli)
    )


def test_activities_filter_and_sync_detection_use_the_stored_tags(synced: Cli) -> None:
    acts = synced.jsonl()
    ip = Counter(a["src_ip"] for a in acts if a.get("src_ip")).most_common(1)[0][0]
    expected = sorted(a["source_event_id"] for a in acts if a.get("src_ip") == ip)
    flt = '{"field": "ip_tags", "equals": "threat_intel"}'
    assert synced.jsonl("--filter", flt) == []
    synced.ok("iptags", "add", ip, "--tag", "threat_intel", "--name", "test indicator")
    got = sorted(a["source_event_id"] for a in synced.jsonl("--filter", flt))
    assert got == expected
    # a policy on the tag, evaluated by the next sync over the stored history
    policy = synced.data_dir.parent / "policy.yaml"
    policy.write_text(
        "id: ti\nname: Threat intel address\nenabled: true\nseverity: high\n"
        "category: threat_detection\nfilter: {field: ip_tags, equals: threat_intel}\n"
    )
    synced.ok("policies", "import", str(policy))
    synced.ok("sync", "--once")
    alerts = [json.loads(x) for x in synced.ok("alerts", "--format", "json").stdout.splitlines()]
    shown = [
        json.loads(synced.ok("alerts", "show", a["id"], "--format", "json").stdout)
        for a in alerts
        if a["policy_id"] == "ti"
    ]
    evidence = {i for a in shown for i in a["evidence_ids"]}
    assert len(evidence) == len(expected)
