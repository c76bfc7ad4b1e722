"""ClientIP forms Microsoft writes, and what :func:`parse_client_ip` makes of each."""

from __future__ import annotations

from typing import Any

import pytest

from opencasb.apps.office365.ip import ClientAddress, parse_client_ip

CASES: list[tuple[Any, ClientAddress]] = [
    ("1.2.3.4", ClientAddress("1.2.3.4")),
    ("1.2.3.4:56789", ClientAddress("1.2.3.4", 56789)),
    ("[1.2.3.4]:443", ClientAddress("1.2.3.4", 443)),
    ("[1.2.3.4]", ClientAddress("1.2.3.4")),
    ("::ffff:1.2.3.4", ClientAddress("1.2.3.4")),
    ("[::ffff:1.2.3.4]:12345", ClientAddress("1.2.3.4", 12345)),
    ("2001:db8::1", ClientAddress("2001:db8::1")),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", ClientAddress("2001:db8::1")),
    ("[2001:db8::1]:443", ClientAddress("2001:db8::1", 443)),
    ("[2001:db8::1]", ClientAddress("2001:db8::1")),
    ("::1", ClientAddress("::1")),
    ("  10.0.0.1  ", ClientAddress("10.0.0.1")),
    ("localhost", ClientAddress(None, None, "localhost")),
    ("localhost:12345", ClientAddress(None, 12345, "localhost")),
    ("[cool.client.local]:12345", ClientAddress(None, 12345, "cool.client.local")),
    ("", ClientAddress()),
    (None, ClientAddress()),
    (1234, ClientAddress()),
    ("1.2.3.4:99999", ClientAddress()),  # not a port
    ("1.2.3.999", ClientAddress()),  # a broken address is neither an address nor a host
    ("[2001:db8::1", ClientAddress()),
    ("[2001:db8::1]x", ClientAddress()),
    ("bad host!", ClientAddress()),
    ("1.2.3.4:²", ClientAddress()),
]


@pytest.mark.parametrize(("value", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
def test_parse_client_ip(value: Any, expected: ClientAddress) -> None:
    assert parse_client_ip(value) == expected
    assert parse_client_ip(value) == expected  # the memoized answer is the same
