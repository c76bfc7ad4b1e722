"""Assertions shared by the web tests."""

from __future__ import annotations

import httpx


def assert_problem(r: httpx.Response, status: int, code: str | None) -> dict[str, object]:
    """``r`` is an RFC 9457 problem with this status (and ``code``, unless None)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
        assert body["type"] == f"urn:opencasb:problem:{code}"
    return dict(body)
