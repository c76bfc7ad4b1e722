"""The Okta app connector: System Log activities and the Users/Groups inventory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Feed,
    FileImport,
    FormField,
    HttpOptions,
    Inventory,
)
from opencasb.apps.okta.auth import OAuthServiceAuth, SswsAuth
from opencasb.apps.okta.domain import canonical_origin
from opencasb.apps.okta.errors import OKTA_POLICY
from opencasb.apps.okta.feed import SystemLogFeed
from opencasb.apps.okta.importer import conform_okta, read_okta_export
from opencasb.apps.okta.inventory import fetch_inventory
from opencasb.apps.okta.normalize import normalize
from opencasb.errors import ConfigError, OpenCASBError
from opencasb.http import ApiClient
from opencasb.model import Activity

__all__ = ["OktaConnector", "okta_bucket"]

MAX_BACKFILL_DAYS = 90  # Okta keeps 90 days; asking further back returns nothing more


def okta_bucket(path: str) -> str:
    """The Okta rate-limit bucket a request path counts against (api-okta.md §4.2)."""
    if path.startswith("/api/v1/logs"):
        return "logs"
    if path.startswith("/api/v1/users"):
        rest = path[len("/api/v1/users") :].strip("/")
        return "users" if not rest or "/" in rest else "user"
    if path.startswith("/api/v1/groups"):
        return "groups"
    return "other"


class OktaConnector(AppConnector):
    """Okta via its Management API. Config: ``domain``, ``auth`` (ssws|oauth), optional
    ``client_id``, ``backfill_days``, ``ca_bundle``; secrets: ``token`` or ``private_key``."""

    NAME: ClassVar[str] = "okta"
    TITLE: ClassVar[str] = "Okta"
    FORM: ClassVar[tuple[FormField, ...]] = (
        FormField("domain", "Okta domain", help="acme.okta.com or your custom domain"),
        FormField("auth", "Authentication", default="ssws", help="ssws (API token) or oauth"),
        FormField("token", "API token", secret=True, required=False, env_var="OKTA_API_TOKEN"),
        FormField("client_id", "OAuth client id", required=False),
        FormField(
            "private_key",
            "OAuth private key (PEM)",
            secret=True,
            required=False,
            env_var="OKTA_PRIVATE_KEY",
        ),
        FormField("backfill_days", "Days of history to backfill", required=False, default="60"),
        FormField("ca_bundle", "CA bundle for TLS (optional)", required=False),
    )
    IMPORT: ClassVar[FileImport | None] = FileImport(
        read_okta_export, normalize, config={"domain": "import"}, conform=conform_okta
    )

    @classmethod
    def validate_config(cls, config: Mapping[str, str]) -> dict[str, str]:
        out = {k: str(v) for k, v in config.items() if v is not None and str(v) != ""}
        out["domain"] = canonical_origin(config.get("domain", ""))
        auth = out.get("auth", "ssws").lower()
        if auth not in ("ssws", "oauth"):
            raise ConfigError(f"unknown Okta auth method {auth!r}", fix="use ssws or oauth")
        out["auth"] = auth
        if auth == "oauth" and not out.get("client_id"):
            raise ConfigError("OAuth needs a client id", fix="give --client-id of the service app")
        days_text = out.get("backfill_days", "60")
        try:
            days = int(days_text)
        except ValueError:
            raise ConfigError(
                f"backfill_days must be a number of days, not {days_text!r}", fix="e.g. 60"
            ) from None
        if not 0 <= days <= MAX_BACKFILL_DAYS:
            raise ConfigError(
                f"backfill_days must be between 0 and {MAX_BACKFILL_DAYS}, not {days}",
                fix="Okta keeps 90 days of System Log; import older history with "
                "`opencasb import okta FILE`",
            )
        out["backfill_days"] = str(days)
        return out

    def __init__(
        self,
        config: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        http: HttpOptions | None = None,
    ) -> None:
        super().__init__(self.validate_config(config), secrets, http=http)
        self.origin = self.config["domain"]
        self.client = ApiClient(
            self.origin,
            app="okta",
            auth=self._auth(),
            policy=OKTA_POLICY,
            http=self.http,
            bucket_of=okta_bucket,
            secrets=[v for v in self.secrets.values() if v],
        )

    def _auth(self) -> SswsAuth | OAuthServiceAuth:
        if self.config["auth"] == "ssws":
            return SswsAuth(self.secrets.get("token", ""))
        return OAuthServiceAuth(
            self.origin,
            self.config["client_id"],
            self.secrets.get("private_key", ""),
            clock=self.http.clock,
            post=self._post_form,
        )

    def _post_form(self, url: str, form: dict[str, str]) -> httpx.Response:
        # The token call goes through the same client (transport, TLS) but not its auth.
        resp = self.client.request("POST", url, data=form, authenticated=False)
        return httpx.Response(resp.status, headers=resp.headers, content=resp.body)

    def test(self) -> ConnectionCheck:
        """Read one event and one user: proves reachability, the credential and both reads."""
        try:
            self.client.get("/api/v1/logs", {"limit": 1})
            self.client.get("/api/v1/users", {"limit": 1})
        except OpenCASBError as exc:
            return ConnectionCheck(ok=False, summary=str(exc), error=exc.info())
        return ConnectionCheck(
            ok=True,
            summary=f"connected to {self.origin}: System Log and Users API readable",
        )

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        return [
            SystemLogFeed(
                self.client, backfill_days=int(self.config["backfill_days"]), clock=self.http.clock
            )
        ]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return normalize(raw)

    def normalizer(self) -> Callable[[Mapping[str, Any]], Activity]:
        return normalize

    def inventory(self) -> Inventory:
        return fetch_inventory(self.client)

    def close(self) -> None:
        self.client.close()
