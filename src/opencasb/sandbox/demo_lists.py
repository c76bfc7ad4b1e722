"""The demo's own IP range lists (package data in ``opencasb/sandbox/data``).

``tor`` holds the Tor exits the attack scenarios use, ``vpn`` and ``corporate`` every VPN and
office egress range the organisation generator can give (:data:`~opencasb.sandbox.org.places.
EGRESS_NETS`). Each is a file :func:`opencasb.enrich.load_ip_ranges` reads, tags included.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["DEMO_LISTS", "demo_list_path"]

DEMO_LISTS = {"tor": "demo-tor.txt", "vpn": "demo-vpn.txt", "corporate": "demo-corporate.txt"}


def demo_list_path(name: str) -> Path:
    """The file of the demo list ``name`` (``tor``, ``vpn`` or ``corporate``).

    Raises:
        KeyError: no such list.
    """
    resource = files("opencasb.sandbox").joinpath("data", DEMO_LISTS[name])
    with as_file(resource) as path:  # an installed package is a directory: no copy is made
        return Path(path)
