"""Secrets at rest: round trip, and a clear error for a wrong or malformed key."""

from __future__ import annotations

import pytest

from opencasb.crypto import Cipher, generate_key
from opencasb.errors import ConfigError


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    c = Cipher(generate_key())
    token = c.encrypt_json({"token": "00abcSECRET"})
    assert "SECRET" not in token and token.isascii()
    assert c.decrypt_json(token) == {"token": "00abcSECRET"}


def test_wrong_key_says_what_to_do() -> None:
    token = Cipher(generate_key()).encrypt_json({"a": "b"})
    with pytest.raises(ConfigError) as err:
        Cipher(generate_key()).decrypt_json(token)
    assert "master key changed" in err.value.fix
    assert "b" not in err.value.message.split()


def test_malformed_key() -> None:
    with pytest.raises(ConfigError):
        Cipher(b"too short")


def test_key_may_be_text() -> None:
    key = generate_key()
    assert Cipher(key.decode()).decrypt_json(Cipher(key).encrypt_json({"x": "1"})) == {"x": "1"}
