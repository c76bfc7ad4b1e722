"""Okta System Log ``LogEvent`` → :class:`~opencasb.model.Activity`.

Contract:
    * :func:`normalize` is pure and total over odd shapes: ``None`` where an object is expected,
      numbers as strings, strings as numbers, nested nulls, missing sections. It raises
      :class:`~opencasb.errors.NormalizeError` only when the record has no usable ``uuid`` or
      ``published`` (or is not an object at all), and nothing else.
    * ``raw`` is the record itself, unchanged; ``details`` is a flat ``str → value`` map of the
      vendor context worth filtering on (``auth.*``, ``security.*``, ``transaction.*``,
      ``client.*``, ``device.*``, ``debug.*``), with null values left out.
    * Category and action come from the table in :mod:`.event_types`.

It is on the ingest hot path, so it reads the record with plain ``dict`` look-ups and no
validation layer; every field goes through a tiny coercer that returns ``None`` for anything
of the wrong type rather than raising.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import orjson

from opencasb.apps.okta.event_types import classify
from opencasb.errors import NormalizeError
from opencasb.model.activity import Activity, Actor, Geo, Outcome, Target

__all__ = ["APP", "country_code", "normalize"]

APP: Final = "okta"

_EMPTY: Final[dict[str, Any]] = {}
_NO_ACTOR: Final = Actor()

# Actors, targets and places repeat across events (the same users sign in to the same apps
# from the same cities) and their values are immutable, so one is built per distinct raw
# shape and then shared: on the ingest hot path this halves their cost. Keys are the raw
# field values; values equal across types (1, 1.0, True) can share an entry, which Okta's
# strings and floats never produce and which at worst changes how a malformed number reads.
_MEMO_LIMIT: Final = 4096
_BIG: Final = 10**18
_MAX_ASN: Final = 2**32 - 1
_actor_memo: dict[tuple[Any, ...], Actor] = {}
_geo_memo: dict[tuple[Any, ...], Geo | None] = {}
_target_memo: dict[tuple[Any, ...], Target] = {}
_V = TypeVar("_V")

OUTCOMES: Final[dict[str, Outcome]] = {
    "SUCCESS": Outcome.SUCCESS,
    "ALLOW": Outcome.SUCCESS,
    "FAILURE": Outcome.FAILURE,
    "DENY": Outcome.FAILURE,
}
"""``outcome.result`` → Outcome; every other result (CHALLENGE, RATE_LIMIT...) is UNKNOWN."""

# Context copied into ``details``: (key in the section, details key), per section. None, ""
# and "null" are left out: Okta writes the string "null" for an unset client.zone.
_AUTH_DETAILS: Final = (
    ("credentialType", "auth.credential_type"),
    ("credentialProvider", "auth.credential_provider"),
    ("authenticationProvider", "auth.authentication_provider"),
    ("externalSessionId", "auth.external_session_id"),
    ("rootSessionId", "auth.root_session_id"),
    ("interface", "auth.interface"),
)
_SECURITY_DETAILS: Final = (
    ("isProxy", "security.is_proxy"),
    ("domain", "security.domain"),
    ("asOrg", "security.as_org"),
)
_TRANSACTION_DETAILS: Final = (("id", "transaction.id"), ("type", "transaction.type"))
_CLIENT_DETAILS: Final = (("zone", "client.zone"), ("id", "client.id"), ("device", "client.device"))
_USER_AGENT_DETAILS: Final = (("os", "client.os"), ("browser", "client.browser"))
# debugData values Okta sends as JSON inside a string; parsed so detections can read them.
# ``behaviors`` and ``risk`` look similar but are ``{k=v, ...}`` text, not JSON: kept as is.
_JSON_DEBUG_KEYS: Final = frozenset({"threatDetections", "logOnlySecurityData"})
# Placeholders Okta writes instead of a value.
_NOT_A_VALUE: Final = frozenset({"", "null", "unknown", "Unknown", "UNKNOWN"})
_BROWSERS: Final[dict[str, str]] = {
    "CHROME": "Chrome",
    "FIREFOX": "Firefox",
    "SAFARI": "Safari",
    "EDGE": "Edge",
    "IE": "Internet Explorer",
    "OPERA": "Opera",
}


def normalize(raw: Mapping[str, Any]) -> Activity:
    """Turn one Okta LogEvent into an Activity.

    Raises:
        NormalizeError: ``uuid`` or ``published`` is missing or unusable, or ``raw`` is not
            a JSON object. The message names the field and the record's uuid when it has one.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise NormalizeError(
            f"okta record is a {type(raw).__name__}, not a JSON object",
            fix="feed System Log events (JSON objects) to the Okta normalizer",
        )
    get = raw.get
    uuid = get("uuid")
    if type(uuid) is not str or not uuid.strip():
        raise NormalizeError(
            "okta record has no uuid",
            meaning="every Okta System Log event carries a 'uuid'; this record does not",
            fix="check the export or feed that produced it; the record is quarantined",
        )
    time = _parse_time(get("published"), uuid)

    event_type = _str(get("eventType")) or ""
    category, action = classify(event_type)

    outcome_raw = _dict(get("outcome"))
    result = _str(outcome_raw.get("result"))
    outcome = OUTCOMES.get(result, Outcome.UNKNOWN) if result else Outcome.UNKNOWN

    actor = _actor(get("actor"))

    targets = _targets(get("target"))
    client = _dict(get("client"))
    chain0 = _first_hop(get("request"))
    src_ip = _str(client.get("ipAddress")) or _str(chain0.get("ip"))
    geo = _geo(client.get("geographicalContext")) or _geo(chain0.get("geographicalContext"))
    security = _dict(get("securityContext"))
    user_agent = _dict(client.get("userAgent"))

    # Okta's own sentence, naming up to three targets; some job events carry no displayMessage,
    # and then the eventType stands in so that no activity reads as blank.
    message = _str(get("displayMessage")) or event_type
    names = [t.name for t in targets if t.name and t.name not in _NOT_A_VALUE][:3]
    description = f"{message} ({', '.join(names)})" if names and message else message

    return Activity(
        time=time,
        app=APP,
        source_event_id=uuid,
        activity_type=event_type,
        category=category,
        action=action,
        outcome=outcome,
        actor=actor,
        raw=raw,
        outcome_detail=result,
        outcome_reason=_str(outcome_raw.get("reason")),
        targets=targets,
        src_ip=src_ip,
        geo=geo,
        asn=_asn(security.get("asNumber")),
        isp=_str(security.get("isp")) or _str(security.get("asOrg")),
        user_agent=_str(user_agent.get("rawUserAgent")),
        device=_device(user_agent, client, _dict(get("device"))),
        severity=_str(get("severity")),
        description=description,
        details=_details(raw, client, user_agent, security),
    )


# ---------------------------------------------------------------- coercers (never raise)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def _str(value: Any) -> str | None:
    """A non-empty string, or a number rendered as one; anything else is None."""
    if type(value) is str:
        return value or None
    if type(value) is float or (type(value) is int and -_BIG < value < _BIG):
        return str(value)  # (a huge int would make str() raise; JSON ids never are one)
    return None


def _float(value: Any) -> float | None:
    if type(value) is float:
        number = value
    elif type(value) is int or type(value) is str:
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _asn(value: Any) -> int | None:
    """An AS number (32-bit unsigned) from an int, a float, or text like ``"7018"``/``"AS7018"``."""
    if type(value) is str:
        text = value.strip().upper().removeprefix("AS").strip()
        # isascii: str.isdigit() also accepts digits like "²" that int() refuses
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    elif type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int and 0 <= value <= _MAX_ASN:
        return value
    return None


def _looks_like_email(text: str) -> bool:
    at = text.find("@")
    return 0 < at < len(text) - 1 and " " not in text


# ---------------------------------------------------------------- sections


def _parse_time(value: Any, uuid: str) -> datetime:
    # fromisoformat (3.11) takes 'Z', offsets and any number of fractional digits; a value
    # without a time of day (a bare date) is refused rather than read as midnight.
    if type(value) is str and len(value) >= 16:
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is None:  # some re-exports drop the zone; Okta's clock is UTC
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)  # OverflowError past year 1 or 9999
        except (ValueError, OverflowError):
            pass
    shown = repr(value[:64]) if type(value) is str else f"a {type(value).__name__}"
    raise NormalizeError(
        f"okta record {uuid[:64]} has no usable 'published' time (got {shown})",
        fix="'published' must be an ISO-8601 timestamp such as 2024-08-13T15:58:20.353Z",
    )


def _targets(value: Any) -> tuple[Target, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        [
            _cached(
                _target_memo,
                (t.get("id"), t.get("type"), t.get("displayName"), t.get("alternateId")),
                _build_target,
            )
            for t in value
            if isinstance(t, dict)
        ]
    )


def _build_target(id_: Any, kind: Any, name: Any, alternate_id: Any) -> Target:
    return Target(_str(id_), _str(kind), _str(name), _str(alternate_id))


def _first_hop(request: Any) -> dict[str, Any]:
    chain = _dict(request).get("ipChain")
    if isinstance(chain, list) and chain:
        return _dict(chain[0])
    return _EMPTY


def _actor(value: Any) -> Actor:
    if not isinstance(value, dict):
        return _NO_ACTOR
    get = value.get
    key = (get("id"), get("displayName"), get("alternateId"), get("type"))
    return _cached(_actor_memo, key, _build_actor)


def _build_actor(id_: Any, name: Any, alternate_id: Any, kind: Any) -> Actor:
    login = _str(alternate_id)
    email = login.lower() if login and _looks_like_email(login) else None
    return Actor(_str(id_), _str(name), email, _str(kind))


def _geo(value: Any) -> Geo | None:
    if not isinstance(value, dict):
        return None
    get = value.get
    point = get("geolocation")
    lat, lon = (point.get("lat"), point.get("lon")) if isinstance(point, dict) else (None, None)
    key = (get("country"), get("state"), get("city"), lat, lon)
    return _cached(_geo_memo, key, _build_geo)


def _build_geo(country: Any, region: Any, city: Any, lat: Any, lon: Any) -> Geo | None:
    country, region, city = _str(country), _str(region), _str(city)
    lat, lon = _float(lat), _float(lon)
    if country is None and region is None and city is None and lat is None and lon is None:
        return None
    return Geo(country, country_code(country), region, city, lat, lon)


def _cached(memo: dict[tuple[Any, ...], _V], key: tuple[Any, ...], build: Callable[..., _V]) -> _V:
    """``build(*key)``, shared through ``memo`` (bounded: the input is untrusted)."""
    try:
        return memo[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value where a string belongs: build without the memo
        return build(*key)
    value = build(*key)
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def _device(
    user_agent: dict[str, Any], client: dict[str, Any], device: dict[str, Any]
) -> str | None:
    """A short "OS / browser" label, else Okta's device class, else the managed device's OS."""
    os_name = _str(user_agent.get("os"))
    browser = _str(user_agent.get("browser"))
    parts = []
    if os_name and os_name not in _NOT_A_VALUE:
        parts.append(os_name)
    if browser and browser not in _NOT_A_VALUE:
        parts.append(_BROWSERS.get(browser) or browser.replace("_", " ").title())
    if parts:
        return " / ".join(parts)
    kind = _str(client.get("device"))
    if kind and kind not in _NOT_A_VALUE:
        return kind
    return _str(device.get("os_platform"))


def _details(
    raw: Mapping[str, Any],
    client: dict[str, Any],
    user_agent: dict[str, Any],
    security: dict[str, Any],
) -> dict[str, Any]:
    # The hottest function of the normalizer: sections are read once each, and a field is
    # skipped before any other work when the section lacks it.
    get = raw.get
    transaction = _dict(get("transaction"))
    out: dict[str, Any] = {}
    for section, fields in (
        (_dict(get("authenticationContext")), _AUTH_DETAILS),
        (security, _SECURITY_DETAILS),
        (transaction, _TRANSACTION_DETAILS),
        (client, _CLIENT_DETAILS),
        (user_agent, _USER_AGENT_DETAILS),
    ):
        if section:
            section_get = section.get
            for key, name in fields:
                value = section_get(key)
                if value is not None and value != "" and value != "null":
                    out[name] = value
    proxy = out.get("security.is_proxy")
    if type(proxy) is str:  # some exports stringify booleans
        out["security.is_proxy"] = proxy.lower() == "true"
    detail = transaction.get("detail")
    if detail and isinstance(detail, dict):
        token_id = _str(detail.get("requestApiTokenId"))
        if token_id:
            out["transaction.api_token_id"] = token_id
    request = get("request")
    if request and isinstance(request, dict):
        chain = request.get("ipChain")
        if isinstance(chain, list) and len(chain) > 1:  # a proxy chain: every hop's address
            out["request.ip_chain"] = [_str(_dict(hop).get("ip")) for hop in chain]

    device = get("device")
    if device and isinstance(device, dict):
        for key, value in device.items():
            if value is not None:
                out[f"device.{key}"] = value
    debug = get("debugContext")
    data = debug.get("debugData") if debug and isinstance(debug, dict) else None
    if data and isinstance(data, dict):
        for key, value in data.items():
            if value is not None:
                if key in _JSON_DEBUG_KEYS and type(value) is str:
                    value = _json_object(value)
                out[f"debug.{key}"] = value
    legacy = _str(get("legacyEventType"))
    if legacy:
        out["legacy_event_type"] = legacy
    return out


def _json_object(text: str) -> Any:
    """``text`` parsed when it holds a JSON object, else ``text`` itself."""
    try:
        parsed = orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, and text that is not valid UTF-8
        return text
    return parsed if isinstance(parsed, dict) else text


# ---------------------------------------------------------------- country names → ISO 3166


def country_code(name: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of an English country name as Okta writes it, if known."""
    if not name:
        return None
    return _COUNTRY_CODES.get(name.casefold())


# ISO 3166-1 short names plus the common English forms GeoIP databases use (Okta's geo data
# speaks those: "United States", "Russia", "South Korea"). Kept inline, not downloaded.
_COUNTRIES: Final = """
AD Andorra|AE United Arab Emirates|AF Afghanistan|AG Antigua and Barbuda|AI Anguilla
AL Albania|AM Armenia|AO Angola|AQ Antarctica|AR Argentina|AS American Samoa|AT Austria
AU Australia|AW Aruba|AX Aland Islands;Åland;Åland Islands|AZ Azerbaijan
BA Bosnia and Herzegovina|BB Barbados|BD Bangladesh|BE Belgium|BF Burkina Faso|BG Bulgaria
BH Bahrain|BI Burundi|BJ Benin|BL Saint Barthelemy;Saint Barthélemy|BM Bermuda
BN Brunei;Brunei Darussalam|BO Bolivia|BQ Bonaire, Sint Eustatius, and Saba;Bonaire
BR Brazil|BS Bahamas;The Bahamas|BT Bhutan|BV Bouvet Island|BW Botswana|BY Belarus|BZ Belize
CA Canada|CC Cocos (Keeling) Islands;Cocos Islands|CD DR Congo;Democratic Republic of the Congo
CF Central African Republic|CG Congo Republic;Republic of the Congo;Congo|CH Switzerland
CI Ivory Coast;Cote d'Ivoire;Côte d'Ivoire|CK Cook Islands|CL Chile|CM Cameroon|CN China
CO Colombia|CR Costa Rica|CU Cuba|CV Cabo Verde;Cape Verde|CW Curacao;Curaçao
CX Christmas Island|CY Cyprus|CZ Czechia;Czech Republic|DE Germany|DJ Djibouti|DK Denmark
DM Dominica|DO Dominican Republic|DZ Algeria|EC Ecuador|EE Estonia|EG Egypt
EH Western Sahara|ER Eritrea|ES Spain|ET Ethiopia|FI Finland|FJ Fiji|FK Falkland Islands
FM Micronesia;Federated States of Micronesia|FO Faroe Islands|FR France|GA Gabon
GB United Kingdom;Great Britain;UK|GD Grenada|GE Georgia|GF French Guiana|GG Guernsey
GH Ghana|GI Gibraltar|GL Greenland|GM Gambia;The Gambia|GN Guinea|GP Guadeloupe
GQ Equatorial Guinea|GR Greece|GS South Georgia and the South Sandwich Islands|GT Guatemala
GU Guam|GW Guinea-Bissau|GY Guyana|HK Hong Kong|HM Heard Island and McDonald Islands
HN Honduras|HR Croatia|HT Haiti|HU Hungary|ID Indonesia|IE Ireland|IL Israel|IM Isle of Man
IN India|IO British Indian Ocean Territory|IQ Iraq|IR Iran|IS Iceland|IT Italy|JE Jersey
JM Jamaica|JO Jordan|JP Japan|KE Kenya|KG Kyrgyzstan|KH Cambodia|KI Kiribati|KM Comoros
KN Saint Kitts and Nevis;St Kitts and Nevis|KP North Korea|KR South Korea;Republic of Korea
KW Kuwait|KY Cayman Islands|KZ Kazakhstan|LA Laos|LB Lebanon|LC Saint Lucia
LI Liechtenstein|LK Sri Lanka|LR Liberia|LS Lesotho|LT Lithuania|LU Luxembourg|LV Latvia
LY Libya|MA Morocco|MC Monaco|MD Moldova|ME Montenegro|MF Saint Martin|MG Madagascar
MH Marshall Islands|MK North Macedonia;Macedonia|ML Mali|MM Myanmar;Burma|MN Mongolia
MO Macao;Macau|MP Northern Mariana Islands|MQ Martinique|MR Mauritania|MS Montserrat
MT Malta|MU Mauritius|MV Maldives|MW Malawi|MX Mexico|MY Malaysia|MZ Mozambique
NA Namibia|NC New Caledonia|NE Niger|NF Norfolk Island|NG Nigeria|NI Nicaragua
NL Netherlands;The Netherlands|NO Norway|NP Nepal|NR Nauru|NU Niue|NZ New Zealand|OM Oman
PA Panama|PE Peru|PF French Polynesia|PG Papua New Guinea|PH Philippines|PK Pakistan
PL Poland|PM Saint Pierre and Miquelon|PN Pitcairn Islands;Pitcairn|PR Puerto Rico
PS Palestine;State of Palestine|PT Portugal|PW Palau|PY Paraguay|QA Qatar
RE Reunion;Réunion|RO Romania|RS Serbia|RU Russia;Russian Federation|RW Rwanda
SA Saudi Arabia|SB Solomon Islands|SC Seychelles|SD Sudan|SE Sweden|SG Singapore
SH Saint Helena|SI Slovenia|SJ Svalbard and Jan Mayen|SK Slovakia|SL Sierra Leone
SM San Marino|SN Senegal|SO Somalia|SR Suriname|SS South Sudan
ST Sao Tome and Principe;São Tomé and Príncipe|SV El Salvador|SX Sint Maarten|SY Syria
SZ Eswatini;Swaziland|TC Turks and Caicos Islands|TD Chad|TF French Southern Territories
TG Togo|TH Thailand|TJ Tajikistan|TK Tokelau|TL Timor-Leste;East Timor|TM Turkmenistan
TN Tunisia|TO Tonga|TR Turkey;Türkiye|TT Trinidad and Tobago|TV Tuvalu|TW Taiwan
TZ Tanzania|UA Ukraine|UG Uganda|UM U.S. Outlying Islands|US United States;USA
UY Uruguay|UZ Uzbekistan|VA Vatican City;Holy See|VC Saint Vincent and the Grenadines
VE Venezuela|VG British Virgin Islands|VI U.S. Virgin Islands|VN Vietnam;Viet Nam|VU Vanuatu
WF Wallis and Futuna|WS Samoa|XK Kosovo|YE Yemen|YT Mayotte|ZA South Africa|ZM Zambia
ZW Zimbabwe
"""


def _country_table(spec: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in spec.replace("\n", "|").split("|"):
        entry = entry.strip()
        if entry:
            code, _, names = entry.partition(" ")
            for name in names.split(";"):
                table[name.casefold()] = code
    return table


_COUNTRY_CODES: Final = _country_table(_COUNTRIES)
