"""The database URL as shown in answers and logs: no password, wherever the URL holds it."""

from __future__ import annotations

import pytest

from opencasb.store.url import redacted_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@h/db?password=s3cret", "postgresql://u@h/db?password=***"),
        (
            "postgresql+psycopg://u:p%40ss@h:5432/db?sslmode=require&sslpassword=x&passfile=/p",
            "postgresql+psycopg://u:***@h:5432/db?passfile=***&sslmode=require&sslpassword=***",
        ),
        (
            "postgresql://u@h/db?sslkey=/k.pem&sslcert=/c.pem",
            "postgresql://u@h/db?sslcert=/c.pem&sslkey=***",
        ),
        (
            "postgresql://u@h/db?PASSWORD=a&password=b",
            "postgresql://u@h/db?PASSWORD=***&password=***",
        ),
        ("sqlite:////var/lib/opencasb/opencasb.db", "sqlite:////var/lib/opencasb/opencasb.db"),
        ("::::", "(unreadable database URL)"),
    ],
)
def test_redacted_url_hides_every_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
