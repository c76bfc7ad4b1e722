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

It is on the ingest hot path (once per event, in the worker processes), so it reads the record
with plain ``dict`` look-ups and no validation layer; every field goes through a tiny coercer
that returns ``None`` for anything of the wrong type rather than raising. Function calls are a
large part of the cost at this scale, so the common case of a coercion (a non-empty string, an
int) is tested inline and the coercer is called only for the rest, and what repeats across
events (actors, targets, places, device labels) is built once and shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from opencasb.apps.okta.event_types import classify
from opencasb.cache import BoundedCache
from opencasb.errors import NormalizeError
from opencasb.model.activity import Activity, Actor, Geo, Outcome, Target

__all__ = ["APP", "country_code", "normalize"]

APP: Final = "okta"

_EMPTY: Final[dict[str, Any]] = {}
_NO_HOPS: Final[list[Any]] = []
_NO_ACTOR: Final = Actor()

# Actors, targets, places and device labels repeat across events (the same users sign in to
# the same apps from the same cities and browsers) and their values are immutable, so one is
# built per distinct raw shape and then shared: on the ingest hot path this halves their cost.
# Keys are the raw field values and their types (see opencasb.cache: each worker has its own
# caches, and what a record gets must not depend on what its process normalized before).
_BIG: Final = 10**18
_MAX_ASN: Final = 2**32 - 1
_actor_memo: BoundedCache[tuple[Any, ...], Actor] = BoundedCache()
_geo_memo: BoundedCache[tuple[Any, ...], Geo | None] = BoundedCache()
_target_memo: BoundedCache[tuple[Any, ...], Target] = BoundedCache()
# (userAgent.os, .browser), both strings -> label
_label_memo: BoundedCache[tuple[str, str], str] = BoundedCache()
# debugData key (a string) -> its details key
_debug_names: BoundedCache[str, str] = BoundedCache()

OUTCOMES: Final[dict[str, Outcome]] = {
    "SUCCESS": Outcome.SUCCESS,
    "ALLOW": Outcome.SUCCESS,
    "FAILURE": Outcome.FAILURE,
    "DENY": Outcome.FAILURE,
}
"""``outcome.result`` → Outcome; every other result (CHALLENGE, RATE_LIMIT...) is UNKNOWN."""
# Attributes of classes (an Enum's members) are looked up anew on each use, unlike module
# globals: the ones used once per event are read once here.
_UNKNOWN: Final = Outcome.UNKNOWN
_fromisoformat: Final = datetime.fromisoformat

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

    event_type = get("eventType")
    if type(event_type) is not str:
        event_type = _str(event_type) or ""
    category, action = classify(event_type)

    # Each `if type(x) is not str or not x: x = _str(x)` below is _str(x), spelled out so
    # that the usual non-empty string costs no call.
    section = get("outcome")
    if isinstance(section, dict):
        result = section.get("result")
        if type(result) is not str or not result:
            result = _str(result)
        reason = section.get("reason")
        if type(reason) is not str or not reason:
            reason = _str(reason)
    else:
        result = reason = None

    section = get("actor")
    actor = _actor(section) if isinstance(section, dict) else _NO_ACTOR
    section = get("target")
    targets, names = _targets(section) if isinstance(section, list) else ((), [])

    client = get("client")
    if not isinstance(client, dict):
        client = _EMPTY
    section = get("request")
    chain = section.get("ipChain") if isinstance(section, dict) else None
    if not isinstance(chain, list):
        chain = _NO_HOPS
    src_ip = client.get("ipAddress")
    if type(src_ip) is not str or not src_ip:
        src_ip = _str(src_ip)
    geo = _geo(client.get("geographicalContext"))
    if (src_ip is None or geo is None) and chain:  # the first hop of the chain stands in
        hop = _dict(chain[0])
        if src_ip is None:
            src_ip = _str(hop.get("ip"))
        if geo is None:
            geo = _geo(hop.get("geographicalContext"))

    security = get("securityContext")
    if isinstance(security, dict):
        asn = security.get("asNumber")
        if type(asn) is not int or not 0 <= asn <= _MAX_ASN:
            asn = _asn(asn)
        isp = security.get("isp")
        if type(isp) is not str or not isp:
            isp = _str(isp) or _str(security.get("asOrg"))
    else:
        security = _EMPTY
        asn = isp = None
    user_agent = client.get("userAgent")
    if not isinstance(user_agent, dict):
        user_agent = _EMPTY
    raw_agent = user_agent.get("rawUserAgent")
    if type(raw_agent) is not str or not raw_agent:
        raw_agent = _str(raw_agent)
    device = get("device")
    if not isinstance(device, dict):
        device = _EMPTY
    severity = get("severity")
    if type(severity) is not str or not severity:
        severity = _str(severity)

    # Okta's own sentence, naming up to three targets; some job events carry no displayMessage,
    # and then the eventType stands in so that no activity reads as blank.
    message = get("displayMessage")
    if type(message) is not str or not message:
        message = _str(message) or event_type
    description = f"{message} ({', '.join(names)})" if names and message else message

    return Activity(
        time=time,
        app=APP,
        source_event_id=uuid,
        activity_type=event_type,
        category=category,
        action=action,
        outcome=OUTCOMES.get(result, _UNKNOWN) if result else _UNKNOWN,
        actor=actor,
        raw=raw,
        instance="",  # filled by the store
        outcome_detail=result,
        outcome_reason=reason,
        targets=targets,
        src_ip=src_ip,
        geo=geo,
        asn=asn,
        isp=isp,
        user_agent=raw_agent,
        device=_device(user_agent, client, device),
        severity=severity,
        description=description,
        details=_details(get, client, user_agent, security, chain, device),
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
            parsed = _fromisoformat(value)
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


def _targets(value: list[Any]) -> tuple[tuple[Target, ...], list[str]]:
    """The targets, and the first three of their names worth showing in the description."""
    targets: list[Target] = []
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):
            get = item.get
            fields = (get("id"), get("type"), get("displayName"), get("alternateId"))
            # BoundedCache.build spelled out: the most frequent lookup of a record (measured:
            # the call alone cost okta normalize 3-5%); .get, not []: targets often miss.
            key = (*fields, *map(type, fields))
            try:
                target = _target_memo.get(key)
            except TypeError:  # an unhashable value where a string belongs: no cache
                target = _build_target(*fields)
            else:
                if target is None:
                    target = _target_memo.put(key, _build_target(*fields))
            targets.append(target)
            name = target.name
            if name and len(names) < 3 and name not in _NOT_A_VALUE:
                names.append(name)
    return tuple(targets), names


def _build_target(id_: Any, kind: Any, name: Any, alternate_id: Any) -> Target:
    # Called for a good part of the targets (one per user and app can outgrow the memo), so
    # each _str() is spelled out for the usual non-empty string.
    return Target(
        id_ if type(id_) is str and id_ else _str(id_),
        kind if type(kind) is str and kind else _str(kind),
        name if type(name) is str and name else _str(name),
        alternate_id if type(alternate_id) is str and alternate_id else _str(alternate_id),
    )


def _actor(value: dict[str, Any]) -> Actor:
    get = value.get
    fields = (get("id"), get("displayName"), get("alternateId"), get("type"))
    return _actor_memo.build(fields, _build_actor)


def _build_actor(id_: Any, name: Any, alternate_id: Any, kind: Any) -> Actor:
    login = _str(alternate_id)
    email = login.lower() if login and _looks_like_email(login) else None
    return Actor(_str(id_), _str(name), email, _str(kind))


def _geo(value: Any) -> Geo | None:
    if not isinstance(value, dict):
        return None
    get = value.get
    point = get("geolocation")
    if isinstance(point, dict):
        fields = (get("country"), get("state"), get("city"), point.get("lat"), point.get("lon"))
    else:
        fields = (get("country"), get("state"), get("city"), None, None)
    return _geo_memo.build(fields, _build_geo)


def _build_geo(country: Any, region: Any, city: Any, lat: Any, lon: Any) -> Geo | None:
    country, region, city = _str(country), _str(region), _str(city)
    lat, lon = _float(lat), _float(lon)
    if country is None and region is None and city is None and lat is None and lon is None:
        return None
    return Geo(country, country_code(country), region, city, lat, lon)


def _device(
    user_agent: dict[str, Any], client: dict[str, Any], device: dict[str, Any]
) -> str | None:
    """A short "OS / browser" label, else Okta's device class, else the managed device's OS."""
    os_name = user_agent.get("os")
    browser = user_agent.get("browser")
    if type(os_name) is str and type(browser) is str:  # as Okta sends them: a few pairs
        key = (os_name, browser)
        label = _label_memo.get(key)
        if label is None:
            label = _label_memo.put(key, _label(os_name, browser))
    else:
        label = _label(os_name, browser)
    if label:
        return label
    kind = _str(client.get("device"))
    if kind and kind not in _NOT_A_VALUE:
        return kind
    return _str(device.get("os_platform"))


def _label(os_name: Any, browser: Any) -> str:
    """The "OS / browser" label of the user agent's fields, or "" when they name neither."""
    os_name, browser = _str(os_name), _str(browser)
    parts = []
    if os_name and os_name not in _NOT_A_VALUE:
        parts.append(os_name)
    if browser and browser not in _NOT_A_VALUE:
        parts.append(_BROWSERS.get(browser) or browser.replace("_", " ").title())
    return " / ".join(parts)


# (raw key, details key) of the fields copied as they are, per section, in details order.
_AUTH_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("credentialType", "auth.credential_type"),
    ("credentialProvider", "auth.credential_provider"),
    ("authenticationProvider", "auth.authentication_provider"),
    ("externalSessionId", "auth.external_session_id"),
    ("rootSessionId", "auth.root_session_id"),
    ("interface", "auth.interface"),
)
_SECURITY_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("isProxy", "security.is_proxy"),  # then made a bool when a string: see _details
    ("domain", "security.domain"),
    ("asOrg", "security.as_org"),
)
_TRANSACTION_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("id", "transaction.id"),
    ("type", "transaction.type"),
)
_CLIENT_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("zone", "client.zone"),
    ("id", "client.id"),
    ("device", "client.device"),
)
_USER_AGENT_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("os", "client.os"),
    ("browser", "client.browser"),
)


def _details(
    get: Callable[[str], Any],
    client: dict[str, Any],
    user_agent: dict[str, Any],
    security: dict[str, Any],
    chain: list[Any],
    device: dict[str, Any],
) -> dict[str, Any]:
    # The hottest function of the normalizer: each section is read once, in one inline loop
    # (no call per section). None, "" and "null" are left out: Okta writes the string "null"
    # for an unset client.zone.
    out: dict[str, Any] = {}
    auth = get("authenticationContext")
    if not auth or not isinstance(auth, dict):
        auth = _EMPTY
    transaction = get("transaction")
    if not transaction or not isinstance(transaction, dict):
        transaction = _EMPTY
    for section, fields in (
        (auth, _AUTH_FIELDS),
        (security, _SECURITY_FIELDS),
        (transaction, _TRANSACTION_FIELDS),
        (client, _CLIENT_FIELDS),
        (user_agent, _USER_AGENT_FIELDS),
    ):
        if section:
            for key, name in fields:
                value = section.get(key)  # faster here than binding section.get once
                if value is not None and value != "" and value != "null":
                    out[name] = value
    value = out.get("security.is_proxy")
    if type(value) is str:  # some exports stringify booleans (reassigning keeps the key's place)
        out["security.is_proxy"] = value.lower() == "true"
    detail = transaction.get("detail")
    if detail and isinstance(detail, dict):
        token_id = _str(detail.get("requestApiTokenId"))
        if token_id:
            out["transaction.api_token_id"] = token_id
    if len(chain) > 1:  # a proxy chain: every hop's address
        out["request.ip_chain"] = [_str(_dict(hop).get("ip")) for hop in chain]

    for key, value in device.items():
        if value is not None:
            out[f"device.{key}"] = value
    section = get("debugContext")
    data = section.get("debugData") if section and isinstance(section, dict) else None
    if data and isinstance(data, dict):
        names = _debug_names
        for key, value in data.items():
            if value is not None:
                detail_key = names.get(key)
                if detail_key is None:  # a new key, or one whose value may be JSON text
                    detail_key = f"debug.{key}"
                    if key in _JSON_DEBUG_KEYS:
                        if type(value) is str:
                            value = _json_object(value)
                    elif type(key) is str:  # (so that 1 and True never share a name)
                        names.put(key, detail_key)
                out[detail_key] = value
    legacy = get("legacyEventType")
    if type(legacy) is not str or not legacy:
        legacy = _str(legacy)
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
