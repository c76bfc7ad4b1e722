"""Distances, speeds and neighbouring countries for the travel detectors.

The land-border table is partial: Europe, North and Central America, and the larger
neighbours elsewhere. A pair that is missing is treated as not neighbouring, which can only
make a detector speak more, never hide an alert. Borders are symmetric by construction.
"""

from __future__ import annotations

import math
from functools import cache

__all__ = ["distance_km", "format_km", "neighbours"]

_EARTH_KM = 6371.0088

_BORDERS = """
AD:ES,FR AL:GR,ME,MK,XK AT:CH,CZ,DE,HU,IT,LI,SI,SK BA:HR,ME,RS BE:DE,FR,LU,NL
BG:GR,MK,RO,RS,TR BY:LT,LV,PL,RU,UA CH:DE,FR,IT,LI CZ:DE,PL,SK DE:DK,FR,LU,NL,PL
EE:LV,RU ES:FR,GI,PT FI:NO,RU,SE FR:IT,LU,MC GB:IE GR:MK,TR HR:HU,ME,RS,SI
HU:RO,RS,SI,SK,UA IT:SI,SM,VA LT:LV,PL,RU LU:DE MD:RO,UA ME:RS,XK MK:RS,XK
NO:RU,SE PL:RU,SK,UA RO:RS,UA RS:XK RU:UA,GE,KZ,MN,CN,AZ SK:UA TR:GE,IR,IQ,SY,AM,AZ
US:CA,MX MX:GT,BZ GT:BZ,HN,SV HN:NI,SV NI:CR CR:PA PA:CO CO:EC,PE,BR,VE
BR:AR,BO,PE,PY,UY,VE,GY,SR,GF AR:BO,CL,PY,UY CL:BO,PE BO:PE,PY EC:PE
IN:BD,BT,CN,MM,NP,PK CN:KP,LA,MM,MN,NP,PK,VN,KZ,KG,TJ,AF,BT KR:KP MY:SG,TH,BN,ID
TH:KH,LA,MM IL:EG,JO,LB,PS,SY AE:OM,SA SA:JO,IQ,KW,OM,QA,YE NG:BJ,CM,NE,TD
ZA:BW,LS,MZ,NA,SZ,ZW KE:ET,SO,SS,TZ,UG EG:LY,SD AU:NZ
"""


@cache
def _table() -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = {}
    for item in _BORDERS.split():
        code, _, rest = item.partition(":")
        for other in rest.split(","):
            pairs.setdefault(code, set()).add(other)
            pairs.setdefault(other, set()).add(code)
    return {k: frozenset(v) for k, v in pairs.items()}


def neighbours(a: str, b: str) -> bool:
    """True when countries ``a`` and ``b`` (ISO alpha-2) share a land border (AU-NZ too:
    the table's one sea pair, a short commuter flight)."""
    return b.upper() in _table().get(a.upper(), frozenset())


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def format_km(km: float) -> str:
    """``4,870 km``."""
    return f"{round(km):,} km"
