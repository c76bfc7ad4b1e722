"""A faithful local emulator of the Okta Management API (System Log, Users, Groups, OAuth).

Typical use::

    state = OktaState.from_seed(seed, clock=clock)
    state.add_api_token("secret", owner_user_id=admin_id)
    app = create_okta_app(state, faults=Faults(), rate_limits=RateLimits())
    client = httpx.Client(transport=SyncASGITransport(app), base_url="https://org.okta.test")
"""

from opencasb.sandbox.okta.app import OktaRuntime, create_okta_app, runtime_of
from opencasb.sandbox.okta.faults import FaultInjector, Faults
from opencasb.sandbox.okta.keys import (
    generate_rsa_keypair,
    load_public_key,
    make_client_assertion,
)
from opencasb.sandbox.okta.ratelimit import RateLimits
from opencasb.sandbox.okta.state import ApiToken, OAuthClient, OktaSeed, OktaState

__all__ = [
    "ApiToken",
    "FaultInjector",
    "Faults",
    "OAuthClient",
    "OktaRuntime",
    "OktaSeed",
    "OktaState",
    "RateLimits",
    "create_okta_app",
    "generate_rsa_keypair",
    "load_public_key",
    "make_client_assertion",
    "runtime_of",
]
