"""`opencasb sync` on an instance another process holds: it names the process and stops."""

from __future__ import annotations

from opencasb.ingest.lease import LEASE_TTL

from .conftest import Cli, flat


def test_sync_names_the_process_that_holds_the_instance(synced: Cli) -> None:
    store = synced.open_store()
    try:
        iid = store.get_instance("okta").id
        assert store.acquire_lease(iid, "4242@other-host", LEASE_TTL) is None
        before = store.get_health(iid)
    finally:
        store.close()
    for args in (("sync", "--once"), ("sync",)):
        result = synced(*args)
        assert result.exit_code == 1, result.output
        out = flat(result.output)
        assert "okta is being synced by process 4242@other-host" in out
        assert "--wait" in out
    store = synced.open_store()
    try:
        assert store.get_health(iid) == before
    finally:
        store.close()
