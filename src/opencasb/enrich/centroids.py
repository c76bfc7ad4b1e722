"""Approximate centres of countries, for a distance when only the country is known.

The table is package data (``data/country_centroids.csv``, generated once from the
``countryinfo`` package by ``scripts/gen_country_centroids.py``; its header names the source).
A distance computed from a centroid is coarse: a large country's centre may be 2,000 km from
the city the address is really in, and callers must say so (:attr:`Enrichment.coarse`).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files

__all__ = ["centroid", "centroids"]


@cache
def centroids() -> dict[str, tuple[float, float]]:
    """``{ISO alpha-2 code: (lat, lon)}`` for every country in the table."""
    text = files("opencasb.enrich").joinpath("data/country_centroids.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["code"]: (float(r["lat"]), float(r["lon"])) for r in rows}


def centroid(code: str | None) -> tuple[float, float] | None:
    """The centre of country ``code`` (case-insensitive), or None if unknown."""
    if not code:
        return None
    return centroids().get(code.upper())
