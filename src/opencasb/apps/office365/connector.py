"""The Office 365 app connector: Management Activity API content and the Graph inventory."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Feed,
    FileImport,
    FormField,
    HttpOptions,
    Inventory,
)
from opencasb.apps.office365.activity_api import ActivityApi
from opencasb.apps.office365.auth import BearerAuth, TokenSource, certificate_credential
from opencasb.apps.office365.cloud import CLOUDS, endpoints_for
from opencasb.apps.office365.components import (
    COMPONENTS,
    DEFAULT_COMPONENTS,
    content_types_for,
    parse_components,
    record_filter,
)
from opencasb.apps.office365.errors import O365_POLICY
from opencasb.apps.office365.feed import ContentFeed
from opencasb.apps.office365.importer import conform_office365, read_office365_export
from opencasb.apps.office365.inventory import fetch_inventory
from opencasb.apps.office365.normalize import normalize
from opencasb.apps.office365.operations import app_name
from opencasb.errors import ConfigError, OpenCASBError
from opencasb.formats.records import RawRecords
from opencasb.http import ApiClient, RequestBudget
from opencasb.model import Activity

__all__ = ["Office365Connector"]

MAX_BACKFILL_DAYS = 7  # the API keeps content for 7 days
API_LIMIT_PER_MINUTE = 2000  # per tenant (research §1.6)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _int(out: dict[str, str], key: str, default: int, low: int, high: int, fix: str) -> int:
    text = out.get(key, str(default))
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {text!r}", fix=fix) from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, not {value}", fix=fix)
    out[key] = str(value)
    return value


def _record_type(value: Any) -> int | None:
    try:
        return int(value)  # a number, or a number sent as a string
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None


def _pair(record_type: Any, workload: Any) -> tuple[int | None, str | None]:
    """What decides a record's app: its RecordType as a number, its Workload if a string
    (anything else in a hostile record counts as absent)."""
    return _record_type(record_type), workload if isinstance(workload, str) else None


def _record_pair(record: Mapping[str, Any]) -> tuple[int | None, str | None]:
    return _pair(record.get("RecordType"), record.get("Workload"))


class Office365Connector(AppConnector):
    """Office 365 through an Entra ID app registration (application permissions).

    Config: ``tenant_id``, ``client_id``, ``auth`` (secret|certificate), ``cloud``,
    ``components``, ``backfill_days``, ``requests_per_minute``, ``workers``, and the optional
    ``endpoint`` (one https origin for every host: the sandbox) and ``ca_bundle``.
    Secrets: ``client_secret`` or ``certificate`` (one PEM: private key and certificate).
    """

    NAME: ClassVar[str] = "office365"
    TITLE: ClassVar[str] = "Office 365"
    FORM: ClassVar[tuple[FormField, ...]] = (
        FormField("tenant_id", "Tenant id (GUID)", help="Entra ID → Overview → Tenant ID"),
        FormField("client_id", "Application (client) id of the app registration"),
        FormField("auth", "Credential", default="secret", help="secret or certificate"),
        FormField(
            "client_secret",
            "Client secret",
            secret=True,
            required=False,
            env_var="O365_CLIENT_SECRET",
        ),
        FormField(
            "certificate",
            "Certificate and private key (PEM)",
            secret=True,
            required=False,
            env_var="O365_CERTIFICATE",
        ),
        FormField("cloud", "Cloud", default="commercial", help=", ".join(CLOUDS)),
        FormField(
            "components",
            "Components",
            required=False,
            default=",".join(DEFAULT_COMPONENTS),
            help=", ".join(COMPONENTS),
        ),
        FormField("backfill_days", "Days of history to backfill", required=False, default="7"),
        FormField("endpoint", "Endpoint override (https origin)", required=False),
        FormField("ca_bundle", "CA bundle for TLS (optional)", required=False),
    )
    IMPORT: ClassVar[FileImport | None] = FileImport(
        read_office365_export, normalize, config={"tenant_id": "import"}, conform=conform_office365
    )

    @classmethod
    def validate_config(cls, config: Mapping[str, str]) -> dict[str, str]:
        from opencasb.config import load_settings

        out = {k: str(v).strip() for k, v in config.items() if v is not None and str(v) != ""}
        for key, label in (("tenant_id", "tenant id"), ("client_id", "client id")):
            value = out.get(key, "")
            if not _GUID.match(value):
                raise ConfigError(
                    f"the {label} must be a GUID, not {value!r}",
                    fix="copy it from the app registration's Overview page in the Entra admin "
                    "center (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                )
            out[key] = value.lower()
        auth = out.get("auth", "secret").lower()
        if auth not in ("secret", "certificate"):
            raise ConfigError(f"unknown credential kind {auth!r}", fix="use secret or certificate")
        out["auth"] = auth
        out["cloud"] = out.get("cloud", "commercial").lower().replace("-", "_")
        endpoints = endpoints_for(out["cloud"], out.get("endpoint"))  # validates both
        if out.get("endpoint"):
            out["endpoint"] = endpoints.login_url  # the origin as parsed, what is connected to
        components = out.get("components", ",".join(DEFAULT_COMPONENTS))
        file_monitoring = "files" in components and load_settings().file_monitoring
        out["components"] = ",".join(parse_components(components, file_monitoring=file_monitoring))
        _int(
            out, "backfill_days", 7, 0, MAX_BACKFILL_DAYS,
            "the API keeps 7 days; import older history with `opencasb import office365 FILE`",
        )  # fmt: skip
        _int(
            out, "requests_per_minute", int(API_LIMIT_PER_MINUTE * 0.95), 1, 60_000,
            "stay below the tenant's budget (about 2,000 a minute) minus other tools' share",
        )  # fmt: skip
        _int(out, "workers", 4, 1, 32, "a few concurrent blob fetches are enough, e.g. 4")
        return out

    def __init__(
        self,
        config: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        http: HttpOptions | None = None,
    ) -> None:
        super().__init__(self.validate_config(config), secrets, http=http)
        self.components = tuple(self.config["components"].split(","))
        self.endpoints = endpoints_for(self.config["cloud"], self.config.get("endpoint"))
        self.tenant_id = self.config["tenant_id"]
        self.tokens = TokenSource(
            f"{self.endpoints.login_url}/{self.tenant_id}",
            self.config["client_id"],
            self._credential(),
            http=self.http,
        )
        secret_values = [v for v in self.secrets.values() if v]
        self.budget = RequestBudget(int(self.config["requests_per_minute"]), clock=self.http.clock)
        self.manage = ApiClient(
            self.endpoints.manage_url,
            app="office365",
            auth=BearerAuth(self.tokens, self.endpoints.manage_resource),
            policy=O365_POLICY,
            http=self.http,
            secrets=secret_values,
            budget=self.budget,
        )
        self.graph = ApiClient(
            self.endpoints.graph_url,
            app="office365",
            auth=BearerAuth(self.tokens, self.endpoints.graph_resource),
            policy=O365_POLICY,
            http=self.http,
            secrets=secret_values,
        )
        self.api = ActivityApi(self.manage, self.tenant_id, clock=self.http.clock)
        self._subscriptions: dict[str, str] | None = None
        self._sub_lock = threading.Lock()

    def _credential(self) -> str | dict[str, str]:
        if self.config["auth"] == "secret":
            secret = self.secrets.get("client_secret", "")
            if not secret:
                raise ConfigError(
                    "no client secret was given",
                    fix="set O365_CLIENT_SECRET or give --secret-file, or use a certificate",
                )
            return secret
        pem = self.secrets.get("certificate", "")
        if not pem:
            raise ConfigError(
                "no certificate was given",
                fix="give --certificate-file with the private key and certificate in one PEM",
            )
        return certificate_credential(pem)

    def ensure_subscription(self, content_type: str) -> None:
        """Start the content type's subscription unless it is already enabled (idempotent)."""
        with self._sub_lock:
            if self._subscriptions is None:
                self._subscriptions = self.api.list_subscriptions()
            if self._subscriptions.get(content_type) != "enabled":
                self.api.start_subscription(content_type)
                self._subscriptions[content_type] = "enabled"

    def test(self) -> ConnectionCheck:
        """Get both tokens, check the subscriptions can be used and read one user.

        Listing content for each content type proves the licence (AF20012) and that audit
        logging is on (AF20023 / the "Tenant does not exist" dump).
        """
        try:
            types = content_types_for(self.components)
            now = self.api.server_now()
            for content_type in types:
                self.ensure_subscription(content_type)
                pages = self.api.list_content(content_type, now - timedelta(hours=1), now)
                next(pages, None)
                pages.close()
            self.graph.get("/v1.0/users", {"$select": "id", "$top": 1})
        except OpenCASBError as exc:
            return ConnectionCheck(ok=False, summary=str(exc), error=exc.info())
        chosen = ", ".join(COMPONENTS[c].title for c in self.components)
        return ConnectionCheck(
            ok=True,
            summary=f"connected to tenant {self.tenant_id}: {chosen}",
            details={"content_types": ", ".join(types) or "none"},
        )

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        backfill = timedelta(days=int(self.config["backfill_days"]))
        return [
            ContentFeed(
                self.api,
                content_type,
                backfill=backfill,
                subscribe=self.ensure_subscription,
                keep=record_filter(content_type, self.components),
                workers=int(self.config["workers"]),
            )
            for content_type in content_types_for(self.components)
        ]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return normalize(raw)

    def normalizer(self) -> Callable[[Mapping[str, Any]], Activity]:
        return normalize

    @classmethod
    def services(cls, raw_events: Sequence[Any]) -> set[str]:
        if isinstance(raw_events, RawRecords):  # the feed's pages: read the decoded heads
            columns = zip(
                raw_events.column("RecordType"), raw_events.column("Workload"), strict=True
            )
            pairs = {_pair(rt, wl) for rt, wl in columns}
            if (None, None) in pairs:  # a record without either, or one that is no object
                pairs.discard((None, None))
                heads = map(raw_events.head, range(len(raw_events)))
                if any(h is not None and _record_pair(h) == (None, None) for h in heads):
                    pairs.add((None, None))
        else:
            pairs = {_record_pair(r) for r in raw_events if isinstance(r, dict)}
        return {app_name(rt, wl) for rt, wl in pairs}

    def inventory(self) -> Inventory:
        return fetch_inventory(self.graph)

    def close(self) -> None:
        self.manage.close()
        self.graph.close()
        self.tokens.close()
