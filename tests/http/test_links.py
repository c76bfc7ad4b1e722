import pytest

from opencasb.errors import UnsafeResponse
from opencasb.http import parse_link_header, require_same_origin
from opencasb.http.links import Origin, split_url


def test_two_header_lines_as_okta_sends_them() -> None:
    links = parse_link_header(
        [
            '<https://acme.okta.com/api/v1/logs?limit=20>; rel="self"',
            '<https://acme.okta.com/api/v1/logs?limit=20&after=1627500044869_1>; rel="next"',
        ]
    )
    assert links == {
        "self": "https://acme.okta.com/api/v1/logs?limit=20",
        "next": "https://acme.okta.com/api/v1/logs?limit=20&after=1627500044869_1",
    }


def test_comma_joined_value_with_commas_inside_urls() -> None:
    value = (
        '<https://a.okta.com/api/v1/logs?filter=a,b>; rel="self", '
        "<https://a.okta.com/api/v1/logs?after=1_2&q=x,y>; rel=next"
    )
    assert parse_link_header([value])["next"] == "https://a.okta.com/api/v1/logs?after=1_2&q=x,y"


@pytest.mark.parametrize(
    "value",
    ["garbage", "<>; rel=next", "<https://x>", '<https://x>; title="next"', "<<<>>>;;rel"],
)
def test_malformed_parts_are_ignored(value: str) -> None:
    assert "next" not in parse_link_header([value])


def test_absurdly_long_header_is_refused() -> None:
    with pytest.raises(UnsafeResponse):
        parse_link_header(["<https://x/" + "a" * 20_000 + '>; rel="next"'])


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/api/v1/logs?after=1",
        "http://acme.okta.com/api/v1/logs",
        "https://acme.okta.com:8443/api/v1/logs",
        "https://acme.okta.com.evil.com/api/v1/logs",
        "https://user@acme.okta.com/api/v1/logs",
        "//evil.example.com/x",
    ],
)
def test_off_origin_links_are_refused(url: str) -> None:
    with pytest.raises(UnsafeResponse) as info:
        require_same_origin(url, "https://acme.okta.com")
    assert "acme.okta.com" in info.value.fix


def test_same_origin_link_is_allowed_with_explicit_default_port() -> None:
    url = "https://ACME.okta.com:443/api/v1/logs?after=1"
    # Rebuilt from the parse that was checked: what the client sends is what was checked.
    assert require_same_origin(url, "https://acme.okta.com") == (
        "https://acme.okta.com/api/v1/logs?after=1"
    )


@pytest.mark.parametrize(
    "url",
    [
        # Parsers disagree on these: urlsplit strips leading blanks and NULs, httpx does not.
        " https://acme.okta.com/api/v1/logs",
        "\x00https://acme.okta.com/api/v1/logs",
        "\thttps://evil.example.com/x",
        "https://acme.okta.com/api/v1/logs?after=1\r\nHost: evil",
        "https://acme.okta.com\\@evil.example.com/x",
        "https://acme.okta.com:99999/x",
        "https://user:pass@acme.okta.com/x",
        "javascript:alert(1)",
        "/api/v1/logs",  # a path is not a link to follow
    ],
)
def test_urls_parsers_disagree_on_are_refused(url: str) -> None:
    with pytest.raises(UnsafeResponse):
        require_same_origin(url, "https://acme.okta.com")


def test_upper_case_scheme_is_the_same_origin_and_rebuilt() -> None:
    assert require_same_origin(
        "HTTPS://Acme.Okta.com/api/v1/logs?x=1#frag", "https://acme.okta.com"
    ) == ("https://acme.okta.com/api/v1/logs?x=1")


def test_split_url_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="credentials"):
        split_url("https://u:p@h.example.com")
    with pytest.raises(ValueError, match="character"):
        split_url(" https://h.example.com")
    assert split_url("https://[::1]:8443/a") == (Origin("https", "::1", 8443), "/a")
    assert str(Origin("https", "::1", 8443)) == "https://[::1]:8443"
