"""The computers and phones people sign in from, with the user-agent strings they send.

Values here are vendor-neutral (``os_family`` "macOS", ``browser`` "Chrome"); each app's
generator maps them to its own vocabulary (Okta says ``"Mac OS X"`` and ``"CHROME"``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Device", "make_devices"]


@dataclass(frozen=True, slots=True)
class Device:
    """One device of one person. ``id`` is a stable 32-hex fingerprint."""

    id: str
    kind: str  # "Computer" | "Mobile" | "Tablet"
    os_family: str  # "Windows" | "macOS" | "Linux" | "iOS" | "iPadOS" | "Android"
    os_version: str
    browser: str  # "Chrome" | "Edge" | "Firefox" | "Safari"
    browser_version: str
    user_agent: str
    model: str


_CHROME = ("138", "139", "140", "141", "142")
_FIREFOX = ("140", "142", "143", "144", "145")
_SAFARI = ("18.6", "26.0", "26.1")
_IOS = ("18_6", "18_7", "26_0", "26_1")
_ANDROID = ("14", "15", "16")
_MAC_MODELS = ("MacBookPro18,3", "MacBookAir10,1", "Mac14,2", "Mac15,6", "Mac16,1")
_PC_MODELS = ("Latitude 7440", "ThinkPad T14 Gen 4", "EliteBook 840 G10", "Surface Laptop 5")
_PHONES = ("Pixel 8", "Pixel 9", "SM-S921B", "SM-A546B")


def _computer(rng: random.Random, dev_id: str, engineer: bool) -> Device:
    roll = rng.random()
    if engineer and roll < 0.08:
        v = rng.choice(_FIREFOX)
        ua = f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
        return Device(dev_id, "Computer", "Linux", "", "Firefox", v, ua, "Linux workstation")
    if roll < (0.55 if engineer else 0.35):
        model = rng.choice(_MAC_MODELS)
        b = rng.random()
        if b < 0.6:
            v = rng.choice(_CHROME)
            ua = (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            )
            return Device(dev_id, "Computer", "macOS", "10.15.7", "Chrome", v, ua, model)
        if b < 0.9:
            v = rng.choice(_SAFARI)
            ua = (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/{v} Safari/605.1.15"
            )
            return Device(dev_id, "Computer", "macOS", "10.15.7", "Safari", v, ua, model)
        v = rng.choice(_FIREFOX)
        ua = f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
        return Device(dev_id, "Computer", "macOS", "10.15", "Firefox", v, ua, model)
    model = rng.choice(_PC_MODELS)
    b = rng.random()
    base = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
    if b < 0.55:
        v = rng.choice(_CHROME)
        ua = f"{base} AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
        return Device(dev_id, "Computer", "Windows", "10", "Chrome", v, ua, model)
    if b < 0.92:
        v = rng.choice(_CHROME)
        build = f"{v}.0.{3300 + rng.randrange(200)}.{rng.randrange(10, 120)}"
        ua = (
            f"{base} AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
            f"Safari/537.36 Edg/{build}"
        )
        return Device(dev_id, "Computer", "Windows", "10", "Edge", build, ua, model)
    v = rng.choice(_FIREFOX)
    ua = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
    return Device(dev_id, "Computer", "Windows", "10", "Firefox", v, ua, model)


def _mobile(rng: random.Random, dev_id: str, tablet: bool) -> Device:
    if tablet or rng.random() < 0.55:
        ios = rng.choice(_IOS)
        ver = ios.replace("_", ".")
        if tablet:
            ua = (
                f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/{ver} Mobile/15E148 Safari/604.1"
            )
            return Device(dev_id, "Tablet", "iPadOS", ver, "Safari", ver, ua, "iPad")
        ua = (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{ver} Mobile/15E148 Safari/604.1"
        )
        return Device(dev_id, "Mobile", "iOS", ver, "Safari", ver, ua, "iPhone")
    android = rng.choice(_ANDROID)
    v = rng.choice(_CHROME)
    ua = (
        f"Mozilla/5.0 (Linux; Android {android}; K) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36"
    )
    return Device(dev_id, "Mobile", "Android", android, "Chrome", v, ua, rng.choice(_PHONES))


def make_devices(rng: random.Random, engineer: bool) -> tuple[Device, ...]:
    """One to three devices: always a computer first, often a phone, sometimes a tablet."""
    devices = [_computer(rng, f"{rng.getrandbits(128):032x}", engineer)]
    if rng.random() < 0.7:
        devices.append(_mobile(rng, f"{rng.getrandbits(128):032x}", tablet=False))
        if rng.random() < 0.12:
            devices.append(_mobile(rng, f"{rng.getrandbits(128):032x}", tablet=True))
    return tuple(devices)
