import pytest

from opencasb.apps.okta.domain import canonical_origin
from opencasb.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("acme.okta.com", "https://acme.okta.com"),
        ("https://acme.okta.com/", "https://acme.okta.com"),
        ("  ACME.oktapreview.com ", "https://acme.oktapreview.com"),
        ("login.example.com", "https://login.example.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("https://localhost:9000", "https://localhost:9000"),
        ("https://acme.okta.com:443", "https://acme.okta.com"),
    ],
)
def test_accepts_org_and_custom_domains(given: str, origin: str) -> None:
    assert canonical_origin(given) == origin


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("http://acme.okta.com", "https"),
        ("acme-admin.okta.com", "-admin"),
        ("https://acme-admin.oktapreview.com", "-admin"),
        ("acme-admin.okta-emea.com", "-admin"),
        ("https://acme.okta.com/api/v1", "host name"),
        ("https://user:pw@acme.okta.com", "host name"),
        ("", "empty"),
        ("{yourOktaDomain}", "placeholder"),
        ("acme..okta.com", "valid host"),
    ],
)
def test_refuses_bad_domains_with_a_fix(given: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        canonical_origin(given)
    assert says in (str(info.value) + info.value.fix)
