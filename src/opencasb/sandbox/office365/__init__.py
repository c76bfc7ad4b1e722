"""A faithful local emulator of Office 365's APIs: the Azure AD token endpoints and discovery
documents, the Office 365 Management Activity API and a Microsoft Graph subset.

Typical use::

    state = O365State.from_seed(seed, clock=clock)
    state.register_app(client_id, roles={MANAGE_RESOURCE: ["ActivityFeed.Read"]},
                       secrets=[("s3cret", expires_at)])
    app = create_o365_app(state, faults=Faults(), limits=Limits())
    client = httpx.Client(transport=SyncASGITransport(app), base_url="https://o365.test")

One app serves every host: point the login, Management API and Graph base URLs at it.
"""

from opencasb.sandbox.office365.app import O365Runtime, create_o365_app, runtime_of
from opencasb.sandbox.office365.blobs import CONTENT_TYPES, Blob, content_type_of
from opencasb.sandbox.office365.credentials import (
    AppCertificate,
    make_certificate,
    make_client_assertion,
)
from opencasb.sandbox.office365.faults import FaultInjector, Faults
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365.state import (
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    AppRegistration,
    O365Seed,
    O365State,
    Subscription,
)

__all__ = [
    "CONTENT_TYPES",
    "GRAPH_RESOURCE",
    "MANAGE_RESOURCE",
    "AppCertificate",
    "AppRegistration",
    "Blob",
    "FaultInjector",
    "Faults",
    "Limits",
    "O365Runtime",
    "O365Seed",
    "O365State",
    "Subscription",
    "content_type_of",
    "create_o365_app",
    "make_certificate",
    "make_client_assertion",
    "runtime_of",
]
