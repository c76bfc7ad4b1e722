"""Notifier settings, checked at the edge (the CLI) with pydantic and stored as JSON.

Each kind has its model; the fields every kind shares (which events, the least severity,
the retry limits) are in :class:`Common`. Secrets are not settings: the webhook's signing
key and the SMTP password are stored encrypted beside them (:mod:`opencasb.store.notifiers`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opencasb.errors import ConfigError

__all__ = [
    "SEVERITIES",
    "Common",
    "EmailConfig",
    "SyslogConfig",
    "WebhookConfig",
    "destination",
    "parse_config",
]

SEVERITIES = ("informational", "low", "medium", "high")


class Common(BaseModel):
    """What every notifier has: the alert events it takes and its retry limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_severity: Literal["informational", "low", "medium", "high"] = "informational"
    events: tuple[Literal["opened", "extended", "closed", "commented"], ...] = (
        "opened",
        "extended",
        "closed",
        "commented",
    )
    # Dead-letter after this many failed attempts, or this long after the first one.
    max_attempts: int = Field(default=10, ge=1, le=100)
    max_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    timeout: float = Field(default=10.0, gt=0, le=300)


class WebhookConfig(Common):
    """A JSON POST to ``url``, signed with the stored key (see :mod:`opencasb.notify.webhook`)."""

    url: str
    ca_file: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")) or len(v) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return v


class SyslogConfig(Common):
    """CEF over syslog (see :mod:`opencasb.notify.syslog`)."""

    host: str
    port: int = Field(default=514, ge=1, le=65535)
    protocol: Literal["udp", "tcp", "tls"] = "udp"
    framing: Literal["octet-counting", "newline"] = "octet-counting"
    ca_file: str | None = None
    facility: int = Field(default=16, ge=0, le=23)  # 16: local0
    hostname: str | None = None  # the HOSTNAME field; default: this machine's name


class EmailConfig(Common):
    """Plain-text mail over SMTP (see :mod:`opencasb.notify.smtp`)."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username: str | None = None
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)
    ca_file: str | None = None

    @field_validator("sender", "recipients")
    @classmethod
    def _addresses(cls, v: Any) -> Any:
        for address in (v,) if isinstance(v, str) else v:
            if "@" not in address or any(c in address for c in "\r\n<>,; "):
                raise ValueError(f"{address!r} is not a plain e-mail address")
        return v


_MODELS: dict[str, type[Common]] = {
    "webhook": WebhookConfig,
    "syslog": SyslogConfig,
    "email": EmailConfig,
}


def parse_config(kind: str, values: dict[str, Any]) -> Common:
    """The settings of a ``kind`` notifier from ``values`` (None values are left out).

    Raises:
        ConfigError: unknown kind, or a value is missing or invalid (every problem named).
    """
    model = _MODELS.get(kind)
    if model is None:
        raise ConfigError(f"unknown notifier kind {kind!r}", fix="use webhook, syslog or email")
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid {kind} notifier settings: {problems}",
            fix="check the options; 'opencasb notifiers add " + kind + " --help' lists them",
            code="bad_notifier_config",
        ) from None


def destination(kind: str, config: dict[str, Any]) -> str:
    """Where a notifier of ``kind`` with the stored ``config`` sends, in a few words."""
    if kind == "webhook":
        return str(config.get("url"))
    if kind == "syslog":
        return f"{config.get('protocol')}://{config.get('host')}:{config.get('port')}"
    return f"{', '.join(config.get('recipients') or [])} via {config.get('host')}"
