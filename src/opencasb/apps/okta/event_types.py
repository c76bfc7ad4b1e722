"""Okta System Log ``eventType`` → (Category, action): the classification as data.

Three layers, most specific first:

1. :data:`EVENT_TYPES` — exact entries for every eventType we have evidence for (the
   security-relevant catalogue and the real sample records), each with a readable action verb.
2. :data:`FAMILIES` — dotted prefixes (``user.session``, ``policy``...) giving the category of
   any eventType under them that has no exact entry; the longest matching prefix wins.
3. Otherwise :attr:`Category.OTHER`.

For eventTypes without an exact entry the action is derived from the name itself
(``policy.mapping.create`` → ``create-policy-mapping``), so that a new Okta eventType still gets
a stable, readable action instead of a blank one.

Contract: :func:`classify` is total (any string, including ``""``, gets an answer) and pure;
its answers are memoized because the set of eventTypes an org emits is small and the ingest
hot path asks once per event.
"""

from __future__ import annotations

from typing import Final

from opencasb.model.activity import Category

__all__ = ["EVENT_TYPES", "FAMILIES", "classify"]

_L = Category.LOGON
_S = Category.SSO
_M = Category.MFA
_U = Category.USER_MANAGEMENT
_A = Category.ADMIN
_P = Category.APP
_X = Category.SECURITY
_Y = Category.SYSTEM

EVENT_TYPES: Final[dict[str, tuple[Category, str]]] = {
    # -- sign-in, sign-out and sessions
    "user.session.start": (_L, "sign-in"),
    "user.session.end": (_L, "sign-out"),
    "user.session.clear": (_L, "clear-sessions"),
    "user.session.expire": (_L, "session-expire"),
    "user.authentication.verify": (_L, "verify-identity"),
    "user.authentication.authenticate": (_L, "authenticate"),
    "user.authentication.auth_via_IDP": (_L, "sign-in-via-idp"),
    "user.authentication.auth_via_social": (_L, "sign-in-via-social"),
    "user.authentication.auth_via_radius": (_L, "sign-in-via-radius"),
    "user.authentication.auth_via_AD_agent": (_L, "sign-in-via-ad-agent"),
    "user.authentication.auth_via_LDAP_agent": (_L, "sign-in-via-ldap-agent"),
    # A sign-on policy evaluation is a step of a sign-in, not an administrator changing policy:
    # filing it under ADMIN would bury real admin changes under one event per login.
    "policy.evaluate_sign_on": (_L, "evaluate-sign-on-policy"),
    # -- single sign-on into other apps
    "user.authentication.sso": (_S, "sso"),
    "app.oauth2.as.token.grant": (_P, "grant-oauth-token"),
    # -- MFA
    "user.authentication.auth_via_mfa": (_M, "mfa-verify"),
    "user.mfa.factor.activate": (_M, "enroll-factor"),
    "user.mfa.factor.deactivate": (_M, "reset-factor"),
    "user.mfa.factor.reset_all": (_M, "reset-all-factors"),
    "user.mfa.factor.update": (_M, "update-factor"),
    "user.mfa.factor.suspend": (_M, "suspend-factor"),
    "user.mfa.factor.unsuspend": (_M, "unsuspend-factor"),
    "user.mfa.okta_verify.deny_push": (_M, "deny-push"),
    "user.mfa.attempt_bypass": (_M, "attempt-mfa-bypass"),
    # -- user lifecycle, accounts and group membership
    "user.lifecycle.create": (_U, "create-user"),
    "user.lifecycle.activate": (_U, "activate-user"),
    "user.lifecycle.deactivate": (_U, "deactivate-user"),
    "user.lifecycle.suspend": (_U, "suspend-user"),
    "user.lifecycle.unsuspend": (_U, "unsuspend-user"),
    "user.lifecycle.reactivate": (_U, "reactivate-user"),
    "user.lifecycle.delete.initiated": (_U, "delete-user"),
    "user.lifecycle.delete.completed": (_U, "delete-user-completed"),
    "user.lifecycle.password_mass_expire": (_U, "expire-passwords"),
    "user.account.lock": (_U, "lock-account"),
    "user.account.lock.limit": (_U, "lock-account-limit"),
    "user.account.unlock": (_U, "unlock-account"),
    "user.account.unlock_by_admin": (_U, "admin-unlock-account"),
    "user.account.reset_password": (_U, "reset-password"),
    "user.account.update_password": (_U, "change-password"),
    "user.account.expire_password": (_U, "expire-password"),
    "user.account.update_profile": (_U, "update-profile"),
    "user.account.subscriptions.update": (_U, "update-subscriptions"),
    "group.user_membership.add": (_U, "add-group-member"),
    "group.user_membership.remove": (_U, "remove-group-member"),
    "group.lifecycle.create": (_U, "create-group"),
    "group.lifecycle.delete": (_U, "delete-group"),
    # -- administration: privileges, tokens, policy, zones, directory, org settings
    "user.account.privilege.grant": (_A, "grant-privilege"),
    "user.account.privilege.revoke": (_A, "revoke-privilege"),
    "group.privilege.grant": (_A, "grant-group-privilege"),
    "group.privilege.revoke": (_A, "revoke-group-privilege"),
    "user.session.access_admin_app": (_A, "access-admin-console"),
    "user.session.impersonation.initiate": (_A, "start-impersonation"),
    "user.session.impersonation.grant": (_A, "grant-impersonation"),
    "user.session.impersonation.end": (_A, "end-impersonation"),
    "user.session.impersonation.extend": (_A, "extend-impersonation"),
    "user.session.impersonation.revoke": (_A, "revoke-impersonation"),
    "system.api_token.create": (_A, "create-api-token"),
    "system.api_token.revoke": (_A, "revoke-api-token"),
    "system.api_token.enable": (_A, "enable-api-token"),
    "system.api_token.update": (_A, "update-api-token"),
    "policy.lifecycle.create": (_A, "create-policy"),
    "policy.lifecycle.update": (_A, "update-policy"),
    "policy.lifecycle.delete": (_A, "delete-policy"),
    "policy.lifecycle.activate": (_A, "activate-policy"),
    "policy.lifecycle.deactivate": (_A, "deactivate-policy"),
    "policy.rule.add": (_A, "add-policy-rule"),
    "policy.rule.update": (_A, "update-policy-rule"),
    "policy.rule.delete": (_A, "delete-policy-rule"),
    "policy.rule.activate": (_A, "activate-policy-rule"),
    "policy.rule.deactivate": (_A, "deactivate-policy-rule"),
    "policy.mapping.create": (_A, "create-policy-mapping"),
    "zone.create": (_A, "create-zone"),
    "zone.update": (_A, "update-zone"),
    "zone.delete": (_A, "delete-zone"),
    "zone.activate": (_A, "activate-zone"),
    "zone.deactivate": (_A, "deactivate-zone"),
    "application.policy.sign_on.update": (_A, "update-app-sign-on-policy"),
    "application.policy.sign_on.rule.create": (_A, "create-app-sign-on-rule"),
    "directory.mapping.update": (_A, "update-profile-mapping"),
    "directory.user_profile.bootstrap": (_A, "bootstrap-user-profile"),
    "directory.app_user_profile.bootstrap": (_A, "bootstrap-app-user-profile"),
    "directory.linked_object.create": (_A, "create-linked-object"),
    "system.mfa.factor.activate": (_A, "activate-org-factor"),
    "system.mfa.factor.deactivate": (_A, "deactivate-org-factor"),
    "system.rate_limit.configuration.update": (_A, "update-rate-limit-settings"),
    "security.threat.configuration.update": (_A, "update-threat-insight-settings"),
    "oauth2.as.created": (_A, "create-authorization-server"),
    "app.oauth2.as.key.rollover": (_A, "rollover-authorization-server-key"),
    # -- applications
    "application.lifecycle.create": (_P, "create-app"),
    "application.lifecycle.update": (_P, "update-app"),
    "application.lifecycle.delete": (_P, "delete-app"),
    "application.lifecycle.activate": (_P, "activate-app"),
    "application.lifecycle.deactivate": (_P, "deactivate-app"),
    "application.user_membership.add": (_P, "assign-app"),
    "application.user_membership.remove": (_P, "unassign-app"),
    "app.oauth2.admin.consent.grant": (_P, "grant-admin-consent"),
    "app.oauth2.admin.consent.revoke": (_P, "revoke-admin-consent"),
    "app.oauth2.key.rollover": (_P, "rollover-app-key"),
    "app.oauth2.credentials.lifecycle.create": (_P, "create-app-credentials"),
    # -- security signals
    "security.threat.detected": (_X, "threat-detected"),
    "security.request.blocked": (_X, "request-blocked"),
    "security.session.detect_client_roaming": (_X, "session-roaming"),
    "user.account.report_suspicious_activity_by_enduser": (_X, "report-suspicious-activity"),
    "user.risk.detect": (_X, "risk-detected"),
    "user.risk.change": (_X, "risk-changed"),
    # -- system: rate limits and org objects
    "system.org.rate_limit.violation": (_Y, "rate-limit-violation"),
    "system.org.rate_limit.warning": (_Y, "rate-limit-warning"),
    "system.org.rate_limit.burst": (_Y, "rate-limit-burst"),
    "system.rate.limit.violation": (_Y, "rate-limit-violation"),
    "system.rate.limit.warning": (_Y, "rate-limit-warning"),
    "system.rate.limit.burst": (_Y, "rate-limit-burst"),
    "core.concurrency.org.limit.violation": (_Y, "concurrency-limit-violation"),
    "system.brand.create": (_Y, "create-brand"),
}
"""Exact eventType → (category, action)."""

FAMILIES: Final[dict[str, Category]] = {
    "user": _U,
    "user.session": _L,
    "user.session.impersonation": _A,
    "user.authentication": _L,
    "user.authentication.sso": _S,
    "user.authentication.auth_via_mfa": _M,
    "user.mfa": _M,
    "user.factor": _M,
    "user.lifecycle": _U,
    "user.account": _U,
    "user.account.privilege": _A,
    "user.risk": _X,
    "group": _U,
    "group.user_membership": _U,
    "group.privilege": _A,
    "group.application_assignment": _P,
    "application": _P,
    "application.policy": _A,
    "app": _P,
    "app.oauth2.as": _A,
    "oauth2": _A,
    "policy": _A,
    "zone": _A,
    "network_zone": _A,
    "directory": _A,
    "iam": _A,
    "event_hook": _A,
    "inline_hook": _A,
    "system.api_token": _A,
    "system.mfa": _A,
    "system.rate_limit": _A,
    "system": _Y,
    "system.org.rate_limit": _Y,
    "core": _Y,
    "security": _X,
}
"""Dotted eventType prefix → category, for eventTypes with no exact entry."""

# Words that name the shape of an event rather than what happened; left out of derived actions.
_FILLER: Final = frozenset({"lifecycle", "generic"})
# Last segments that are verbs: a derived action puts them first ("create-policy-mapping").
_VERBS: Final = frozenset(
    {
        "activate",
        "add",
        "bootstrap",
        "change",
        "clear",
        "create",
        "deactivate",
        "delete",
        "deny",
        "detect",
        "disable",
        "enable",
        "end",
        "expire",
        "grant",
        "initiate",
        "lock",
        "remove",
        "reset",
        "revoke",
        "rollover",
        "start",
        "suspend",
        "unlock",
        "unsuspend",
        "update",
        "verify",
    }
)
_MEMO_LIMIT: Final = 8192  # eventType strings come from untrusted input: bound the memo
_memo: dict[str, tuple[Category, str]] = dict(EVENT_TYPES)


def classify(event_type: str) -> tuple[Category, str]:
    """The (category, action) of an Okta eventType; total and memoized."""
    hit = _memo.get(event_type)
    if hit is not None:
        return hit
    result = (_family(event_type), _derive_action(event_type))
    if len(_memo) < _MEMO_LIMIT:
        _memo[event_type] = result
    return result


def _family(event_type: str) -> Category:
    prefix = event_type
    while prefix:
        category = FAMILIES.get(prefix)
        if category is not None:
            return category
        prefix = prefix.rpartition(".")[0]
    return Category.OTHER


def _derive_action(event_type: str) -> str:
    words = [w.replace("_", "-").lower() for w in event_type.split(".") if w]
    words = [w for w in words if w not in _FILLER]
    if len(words) > 1 and words[-1] in _VERBS:
        words.insert(0, words.pop())
    return "-".join(words) or "unknown"
