"""Where the synthetic people live: cities and their home ISPs (public holidays are in
:mod:`opencasb.sandbox.org.holidays`, re-exported here).

The tables are small on purpose. Each city lists a few ``/16`` networks of consumer ISPs that
really serve that country, so a GeoIP/ASN enrichment sees a believable picture: every network
here lies wholly in its city's country in the GeoIP database OpenCASB ships (a test checks
each one). The org's own egress (offices, VPN) is :data:`EGRESS_NETS`, real business ranges of
the office's country — see :mod:`opencasb.sandbox.org.build`.
"""

from __future__ import annotations

from dataclasses import dataclass

from opencasb.sandbox.org.holidays import holidays, is_holiday

__all__ = [
    "CITIES",
    "CITY_BY_KEY",
    "EGRESS_NETS",
    "ISPS",
    "City",
    "Isp",
    "holidays",
    "is_holiday",
]


@dataclass(frozen=True, slots=True)
class Isp:
    """A consumer ISP: its autonomous system and the names an ASN database reports.

    ``v6`` is the first two groups of an IPv6 /32 the ISP really announces in the ISP's
    country (empty if it gives its lines no IPv6 here): home lines' IPv6 addresses.
    """

    key: str
    asn: int
    as_org: str
    name: str
    domain: str
    v6: str = ""


@dataclass(frozen=True, slots=True)
class City:
    """A city people live in or travel to.

    ``nets`` are ``(isp key, "a.b")`` pairs, each standing for the network ``a.b.0.0/16``.
    """

    key: str
    name: str
    state: str
    country: str
    country_name: str
    region: str
    postal_code: str
    lat: float
    lon: float
    tz: str
    nets: tuple[tuple[str, str], ...]


ISPS: dict[str, Isp] = {
    i.key: i
    for i in (
        Isp("comcast", 7922, "comcast", "comcast", "comcast.net", "2601:40"),
        Isp("att", 7018, "at&t services inc.", "at&t corp.", "att.net", "2600:1701"),
        Isp("verizon", 701, "verizon business", "verizon", "verizon.net"),
        Isp(
            "charter",
            20115,
            "charter communications",
            "charter communications",
            "spectrum.com",
            "2600:6c41",
        ),
        Isp("bt", 2856, "british telecommunications plc", "bt", "bt.com", "2a00:23c6"),
        Isp("sky", 5607, "sky uk limited", "sky broadband", "sky.com", "2a02:c78"),
        Isp("virgin", 5089, "virgin media limited", "virgin media", "virginmedia.com"),
        Isp("dtag", 3320, "deutsche telekom ag", "deutsche telekom ag", "telekom.de", "2003:c1"),
        Isp("vodafone_de", 3209, "vodafone gmbh", "vodafone germany", "vodafone.de", "2a02:810a"),
        Isp("orange_fr", 3215, "orange s.a.", "orange", "orange.fr", "2a01:cb05"),
        Isp("free", 12322, "free sas", "free sas", "free.fr", "2a01:e08"),
        Isp("eir", 5466, "eircom limited", "eir broadband", "eircom.net", "2001:bb0"),
        Isp("kpn", 1136, "kpn b.v.", "kpn", "kpn.com", "2a02:a443"),
        Isp("ziggo", 33915, "vodafone libertel b.v.", "ziggo", "ziggo.nl", "2001:1c01"),
        Isp(
            "telefonica",
            3352,
            "telefonica de espana s.a.u.",
            "movistar",
            "telefonica.es",
            "2a06:f0c0",
        ),
        Isp(
            "orange_pl",
            5617,
            "orange polska spolka akcyjna",
            "orange polska",
            "orange.pl",
            "2a00:f40",
        ),
        Isp(
            "rogers", 812, "rogers communications canada inc.", "rogers", "rogers.com", "2607:9880"
        ),
        Isp("bell", 577, "bell canada", "bell canada", "bell.ca"),
        Isp("airtel", 24560, "bharti airtel ltd.", "airtel broadband", "airtel.in"),
        Isp("jio", 55836, "reliance jio infocomm limited", "jio", "jio.com", "2405:202"),
        Isp("singtel", 3758, "singnet pte ltd", "singtel", "singnet.com.sg", "2400:d800"),
        Isp("telstra", 1221, "telstra limited", "telstra", "bigpond.net.au", "2001:8005"),
        Isp("optus", 4804, "optus", "optus", "optusnet.com.au"),
        Isp("ntt", 4713, "ntt communications corporation", "ocn", "ocn.ne.jp", "2001:380"),
        Isp("softbank", 17676, "softbank corp.", "softbank bb", "bbtec.net", "2001:278"),
        Isp("vivo", 27699, "telefonica brasil s.a", "vivo", "telesp.net.br", "2804:e00"),
        Isp("telmex", 8151, "uninet s.a. de c.v.", "telmex", "prod-infinitum.com.mx", "2001:1208"),
    )
}


# The organisation's own egress, by country: one real /24 of a business ISP of that country
# (the whole /16 around it is in the country in the shipped GeoIP database, and no city's
# consumer network is in it). Offices take the /28s at .0, .16 and .32, the VPN .128 and .192.
EGRESS_NETS: dict[str, str] = {
    "US": "4.4.88",  # Lumen (Level 3)
    "GB": "62.30.117",  # Virgin Media Business
    "IE": "78.16.42",  # BT Communications Ireland
    "CA": "50.92.31",  # TELUS
    "DE": "83.135.17",  # 1&1 Versatel
    "NL": "31.149.62",  # KPN
}


def _c(
    key: str,
    name: str,
    state: str,
    country: str,
    country_name: str,
    region: str,
    postal: str,
    lat: float,
    lon: float,
    tz: str,
    *nets: str,
) -> City:
    pairs = tuple((n.split(":")[0], n.split(":")[1]) for n in nets)
    return City(key, name, state, country, country_name, region, postal, lat, lon, tz, pairs)


_US = ("US", "United States", "North America")
_GB = ("GB", "United Kingdom", "Europe")
_DE = ("DE", "Germany", "Europe")

CITIES: tuple[City, ...] = (
    _c(
        "nyc",
        "New York",
        "New York",
        *_US,
        "10013",
        40.7209,
        -74.0007,
        "America/New_York",
        "comcast:73.14",
        "verizon:108.6",
        "charter:24.90",
    ),
    _c(
        "sfo",
        "San Francisco",
        "California",
        *_US,
        "94105",
        37.7852,
        -122.3874,
        "America/Los_Angeles",
        "comcast:73.162",
        "att:99.43",
        "comcast:67.180",
    ),
    _c(
        "chi",
        "Chicago",
        "Illinois",
        *_US,
        "60601",
        41.8858,
        -87.6181,
        "America/Chicago",
        "comcast:73.44",
        "att:99.100",
    ),
    _c(
        "aus",
        "Austin",
        "Texas",
        *_US,
        "78701",
        30.2711,
        -97.7437,
        "America/Chicago",
        "att:99.61",
        "charter:70.114",
    ),
    _c(
        "sea",
        "Seattle",
        "Washington",
        *_US,
        "98101",
        47.6101,
        -122.3344,
        "America/Los_Angeles",
        "comcast:73.97",
        "comcast:67.183",
    ),
    _c(
        "bos",
        "Boston",
        "Massachusetts",
        *_US,
        "02110",
        42.3584,
        -71.0511,
        "America/New_York",
        "comcast:73.16",
        "verizon:108.20",
    ),
    _c(
        "den",
        "Denver",
        "Colorado",
        *_US,
        "80202",
        39.7525,
        -104.9995,
        "America/Denver",
        "comcast:73.95",
        "att:99.112",
    ),
    _c(
        "atl",
        "Atlanta",
        "Georgia",
        *_US,
        "30303",
        33.7525,
        -84.3915,
        "America/New_York",
        "comcast:73.207",
        "att:99.26",
    ),
    _c(
        "lon",
        "London",
        "England",
        *_GB,
        "EC2V",
        51.5164,
        -0.093,
        "Europe/London",
        "bt:86.140",
        "sky:2.27",
        "virgin:82.13",
    ),
    _c(
        "man",
        "Manchester",
        "England",
        *_GB,
        "M1",
        53.4794,
        -2.2453,
        "Europe/London",
        "bt:86.171",
        "virgin:82.21",
    ),
    _c(
        "edi",
        "Edinburgh",
        "Scotland",
        *_GB,
        "EH1",
        55.9521,
        -3.1965,
        "Europe/London",
        "bt:86.152",
        "sky:2.30",
    ),
    _c(
        "ber",
        "Berlin",
        "Land Berlin",
        *_DE,
        "10117",
        52.517,
        13.3889,
        "Europe/Berlin",
        "dtag:91.13",
        "vodafone_de:188.98",
    ),
    _c(
        "muc",
        "Munich",
        "Bavaria",
        *_DE,
        "80331",
        48.1371,
        11.5754,
        "Europe/Berlin",
        "dtag:79.205",
        "vodafone_de:188.108",
    ),
    _c("ham", "Hamburg", "Hamburg", *_DE, "20095", 53.5511, 9.9937, "Europe/Berlin", "dtag:91.50"),
    _c(
        "par",
        "Paris",
        "Ile-de-France",
        "FR",
        "France",
        "Europe",
        "75002",
        48.8682,
        2.3417,
        "Europe/Paris",
        "orange_fr:90.3",
        "free:82.64",
    ),
    _c(
        "lyo",
        "Lyon",
        "Auvergne-Rhone-Alpes",
        "FR",
        "France",
        "Europe",
        "69002",
        45.7578,
        4.832,
        "Europe/Paris",
        "orange_fr:90.66",
    ),
    _c(
        "dub",
        "Dublin",
        "Leinster",
        "IE",
        "Ireland",
        "Europe",
        "D02",
        53.3498,
        -6.2603,
        "Europe/Dublin",
        "eir:86.44",
        "eir:86.46",
    ),
    _c(
        "ams",
        "Amsterdam",
        "North Holland",
        "NL",
        "Netherlands",
        "Europe",
        "1012",
        52.374,
        4.8897,
        "Europe/Amsterdam",
        "kpn:77.161",
        "ziggo:84.26",
    ),
    _c(
        "mad",
        "Madrid",
        "Madrid",
        "ES",
        "Spain",
        "Europe",
        "28005",
        40.4143,
        -3.7016,
        "Europe/Madrid",
        "telefonica:83.45",
    ),
    _c(
        "waw",
        "Warsaw",
        "Mazovia",
        "PL",
        "Poland",
        "Europe",
        "00-001",
        52.2297,
        21.0122,
        "Europe/Warsaw",
        "orange_pl:83.21",
    ),
    _c(
        "tor",
        "Toronto",
        "Ontario",
        "CA",
        "Canada",
        "North America",
        "M5H",
        43.6511,
        -79.3839,
        "America/Toronto",
        "rogers:99.230",
        "bell:174.91",
    ),
    _c(
        "van",
        "Vancouver",
        "British Columbia",
        "CA",
        "Canada",
        "North America",
        "V6B",
        49.2827,
        -123.1207,
        "America/Vancouver",
        "rogers:99.250",
    ),
    _c(
        "blr",
        "Bengaluru",
        "Karnataka",
        "IN",
        "India",
        "Asia Pacific",
        "560001",
        12.9716,
        77.5946,
        "Asia/Kolkata",
        "airtel:122.171",
        "jio:49.37",
    ),
    _c(
        "hyd",
        "Hyderabad",
        "Telangana",
        "IN",
        "India",
        "Asia Pacific",
        "500081",
        17.4435,
        78.3772,
        "Asia/Kolkata",
        "airtel:122.175",
        "jio:49.43",
    ),
    _c(
        "sin",
        "Singapore",
        "Singapore",
        "SG",
        "Singapore",
        "Asia Pacific",
        "018989",
        1.2789,
        103.8536,
        "Asia/Singapore",
        "singtel:116.14",
        "singtel:116.15",
    ),
    _c(
        "syd",
        "Sydney",
        "New South Wales",
        "AU",
        "Australia",
        "Asia Pacific",
        "2000",
        -33.8688,
        151.2093,
        "Australia/Sydney",
        "telstra:124.170",
        "optus:49.180",
    ),
    _c(
        "mel",
        "Melbourne",
        "Victoria",
        "AU",
        "Australia",
        "Asia Pacific",
        "3000",
        -37.8136,
        144.9631,
        "Australia/Melbourne",
        "telstra:124.176",
    ),
    _c(
        "tyo",
        "Tokyo",
        "Tokyo",
        "JP",
        "Japan",
        "Asia Pacific",
        "100-0005",
        35.6812,
        139.7671,
        "Asia/Tokyo",
        "ntt:153.156",
        "softbank:126.77",
    ),
    _c(
        "sao",
        "Sao Paulo",
        "Sao Paulo",
        "BR",
        "Brazil",
        "Latin America",
        "01310-100",
        -23.5613,
        -46.6565,
        "America/Sao_Paulo",
        "vivo:177.68",
    ),
    _c(
        "mex",
        "Mexico City",
        "Mexico City",
        "MX",
        "Mexico",
        "Latin America",
        "06600",
        19.4326,
        -99.1332,
        "America/Mexico_City",
        "telmex:189.146",
    ),
)

CITY_BY_KEY: dict[str, City] = {c.key: c for c in CITIES}
