"""Alert notifications: webhook (signed JSON), syslog (CEF over UDP, TCP, TLS) and e-mail.

Alert writes append events to the store's outbox (:mod:`opencasb.store.outbox`) in the
same transaction; :class:`~opencasb.notify.stage.NotifyStage` delivers them to every
notifier with its own cursor, retries with backoff and keeps dead letters, so an alert is
never lost while a receiver is down. The modules are imported where used (each kind pulls
its own libraries).
"""
