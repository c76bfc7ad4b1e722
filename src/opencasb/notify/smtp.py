"""E-mail notifier: one plain-text message per alert event, over SMTP (smtplib).

``security``: ``starttls`` (port 587; the session is upgraded before anything else is
said, and a server that does not offer STARTTLS is an error, never a silent fallback to
plain text), ``tls`` (implicit TLS, port 465) or ``plain`` (a relay on a trusted network;
no login is attempted over it). The server's certificate is verified against the system
store or ``ca_file``. ``Message-ID`` is derived from the event id, so a mail client or a
ticketing system sees a re-sent event as the same message.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from opencasb.clock import Clock
from opencasb.errors import DeliveryFailed
from opencasb.http.tls import ca_context
from opencasb.notify.base import failed, snippet
from opencasb.notify.config import EmailConfig
from opencasb.notify.payload import Outgoing
from opencasb.notify.text import body_text, subject_line

__all__ = ["EmailSender"]


class EmailSender:
    """Sends each event as a mail to the configured recipients (see module doc)."""

    def __init__(self, config: EmailConfig, password: str | None, clock: Clock) -> None:
        self._config = config
        self._password = password
        self._clock = clock
        self._where = f"{config.host}:{config.port}"

    def message(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject_line(out)
        msg["From"] = self._config.sender
        msg["To"] = ", ".join(self._config.recipients)
        msg["Date"] = format_datetime(self._clock.now())
        msg["Message-ID"] = f"<{out.event.key}@opencasb.invalid>"
        msg["X-OpenCASB-Event-Id"] = out.event.key
        msg["X-OpenCASB-Event"] = out.kind
        msg.set_content(body_text(out))
        return msg

    def _context(self) -> ssl.SSLContext:
        if self._config.ca_file:
            return ca_context(self._config.ca_file)
        return ssl.create_default_context()

    def send(self, out: Outgoing) -> str:
        cfg = self._config
        msg = self.message(out)
        try:
            smtp: smtplib.SMTP
            if cfg.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=self._context())
                if cfg.username and cfg.security != "plain":
                    smtp.login(cfg.username, self._password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError:
            raise failed(
                f"the SMTP server {self._where} does not offer STARTTLS",
                fix="use --security tls (port 465) or a server that offers STARTTLS",
                code="no_starttls",
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise self._answer("refused the login", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{r}: {c}" for r, (c, _) in exc.recipients.items())
            raise failed(
                f"the SMTP server {self._where} refused every recipient ({codes})",
                fix="check the recipient addresses and the server's relay rules",
                code="recipients_refused",
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._answer("refused the message", exc.smtp_code, exc.smtp_error) from None
        except ssl.SSLCertVerificationError as exc:
            raise failed(
                f"TLS failed with the SMTP server {self._where}: {exc.verify_message}",
                fix="check the host name; a private CA is trusted with --ca-file",
                code="tls",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = getattr(exc, "strerror", None) or snippet(str(exc)) or type(exc).__name__
            raise failed(
                f"could not send mail through {self._where}: {reason}",
                fix="check that the SMTP server runs and the port and security are right",
                code="connect",
            ) from None
        accepted = len(cfg.recipients) - len(refused)
        note = f" (refused: {', '.join(refused)})" if refused else ""
        return f"accepted by {self._where} for {accepted} recipient(s){note}"

    def _answer(self, what: str, code: int, text: bytes | str) -> DeliveryFailed:
        said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return failed(
            f"the SMTP server {self._where} {what}: {code} {snippet(said)}",
            fix="check the username, the password and the sender address the server allows",
            code=f"SMTP {code}",
        )

    def close(self) -> None:
        """Nothing to close: each message uses its own SMTP session."""
