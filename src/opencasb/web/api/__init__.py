"""The REST API under ``/api/v1``: one router per resource (see :func:`routers`)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every resource router, in the order the docs list them."""
    return []
