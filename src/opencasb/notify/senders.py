"""A notifier's sender, from its stored record and secrets."""

from __future__ import annotations

from opencasb.clock import Clock
from opencasb.errors import ConfigError
from opencasb.notify.base import Sender
from opencasb.notify.config import EmailConfig, SyslogConfig, WebhookConfig, parse_config
from opencasb.store.notifiers import NotifierRecord

__all__ = ["make_sender"]


def make_sender(rec: NotifierRecord, secrets: dict[str, str], clock: Clock) -> Sender:
    """The sender of ``rec``.

    Raises:
        ConfigError: the stored settings no longer validate, or a secret is missing.
    """
    config = parse_config(rec.kind, rec.config)
    if isinstance(config, WebhookConfig):
        from opencasb.notify.webhook import WebhookSender

        key = secrets.get("signing_key")
        if not key:
            raise ConfigError(
                f"the webhook notifier {rec.name!r} has no signing key",
                fix=f"remove it and add it again: opencasb notifiers remove {rec.name}",
            )
        return WebhookSender(config, key, clock)
    if isinstance(config, SyslogConfig):
        from opencasb.notify.syslog import SyslogSender

        return SyslogSender(config, clock)
    if isinstance(config, EmailConfig):
        from opencasb.notify.smtp import EmailSender

        return EmailSender(config, secrets.get("password"), clock)
    raise ConfigError(f"unknown notifier kind {rec.kind!r}", fix="remove the notifier")
