"""The demo's own IP range lists (package data in ``opencasb/sandbox/data``).

``tor`` holds the Tor exits the attack scenarios use, ``vpn`` and ``corporate`` every VPN and
office egress range the organisation generator can give (:data:`~opencasb.sandbox.org.places.
EGRESS_NETS`). Each is a file :func:`opencasb.enrich.load_ip_ranges` reads, tags included.
The demo stores them as IP tags of source ``demo`` on its first run (:func:`store_demo_lists`).
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

from opencasb.enrich.iptags import IpRange, load_ip_ranges

if TYPE_CHECKING:
    from opencasb.store.facade import Store

__all__ = ["DEMO_LISTS", "demo_list_path", "demo_ranges", "store_demo_lists"]

DEMO_LISTS = {"tor": "demo-tor.txt", "vpn": "demo-vpn.txt", "corporate": "demo-corporate.txt"}


def demo_list_path(name: str) -> Path:
    """The file of the demo list ``name`` (``tor``, ``vpn`` or ``corporate``).

    Raises:
        KeyError: no such list.
    """
    resource = files("opencasb.sandbox").joinpath("data", DEMO_LISTS[name])
    with as_file(resource) as path:  # an installed package is a directory: no copy is made
        return Path(path)


def demo_ranges() -> list[IpRange]:
    """Every range of the demo's lists."""
    return [r for name in DEMO_LISTS for r in load_ip_ranges(demo_list_path(name))]


def store_demo_lists(store: Store) -> int:
    """Store the demo's lists as IP tags of source ``demo``, unless the store already holds
    some (a later run keeps what the user changed: a demo range they removed stays removed
    while another is left). Returns the ranges stored (0 when it left the store alone)."""
    from opencasb.store.iptags import SOURCE_DEMO

    tags = store.ip_tags
    if any(r.source == SOURCE_DEMO for r in tags.records()):
        return 0
    return tags.import_ranges(SOURCE_DEMO, demo_ranges(), created_by="opencasb demo").added
