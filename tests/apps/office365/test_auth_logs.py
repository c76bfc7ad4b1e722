"""Retries of Azure AD's token endpoint are logged with their attempt and delay."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from tests.sandbox.o365_conftest_helpers import SECRET, Tenant

from opencasb.apps.office365.connector import Office365Connector
from opencasb.sandbox.office365 import Faults

Connect = Callable[..., Office365Connector]


def test_a_token_retry_is_logged_without_the_secret(
    tenant_factory: Callable[..., Tenant], connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    t = tenant_factory(faults=Faults(error_500_rate=0.5, seed=9))
    with caplog.at_level(logging.DEBUG, logger="opencasb"):
        for _ in range(5):
            connect(t=t).test()
    retries = [r for r in caplog.records if r.getMessage().startswith("token request failed")]
    assert retries, [r.getMessage() for r in caplog.records]
    assert all(r.__dict__["attempt"] >= 1 and r.__dict__["delay"] > 0 for r in retries)
    assert SECRET not in caplog.text
