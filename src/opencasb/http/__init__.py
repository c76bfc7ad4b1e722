"""The HTTP layer every connector shares: pacing, retries, error policy, Link headers."""

from opencasb.http.budget import RequestBudget
from opencasb.http.client import ApiClient, Response
from opencasb.http.links import parse_link_header, require_same_origin
from opencasb.http.options import HttpOptions
from opencasb.http.policy import Action, ErrorPolicy, Resolution
from opencasb.http.ratelimit import RateLimitPacer

__all__ = [
    "Action",
    "ApiClient",
    "ErrorPolicy",
    "HttpOptions",
    "RateLimitPacer",
    "RequestBudget",
    "Resolution",
    "Response",
    "parse_link_header",
    "require_same_origin",
]
