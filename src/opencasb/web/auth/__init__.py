"""Access control of the portal and the API.

Roles (:mod:`.roles`): ``admin`` > ``analyst`` > ``read_only``. Routes take the principal
from a dependency (:mod:`.deps`)::

    from opencasb.web.auth.deps import Admin, Analyst, Reader   # Annotated[Principal, ...]

    @router.post("/things")
    def make(principal: Analyst) -> ...: ...

``require(Role.X)`` is the same as a plain dependency. State-changing requests are refused
cross-site (``Sec-Fetch-Site``/``Origin``) and, with the session cookie, need the session's
CSRF token in ``X-CSRF-Token`` or the ``csrf_token`` form field.

For the server-rendered pages (a sign-in form post), :mod:`.sessions` has::

    user = authenticate(ctx, request, username, password)   # ApiProblem 401 / 429
    principal = start_session(ctx, request, response, user) # sets the cookie; audited
    end_session(ctx, request, response)                     # sign out; audited
    session_principal(ctx, request) -> Principal | None     # who is signed in (no 401)

``principal.csrf_token`` goes into every form as ``<input type=hidden name=csrf_token>``.
For a page route that must show a sign-in page instead of a 401, use
``Depends(deps.optional_principal)``. Audit other actions with :func:`.audit.record`.

Users are managed with :mod:`.accounts` (used by ``opencasb users`` and ``/api/v1/users``);
the first admin is made by :func:`.accounts.ensure_first_admin` when no user exists.
Nothing here stores a secret: passwords as argon2id hashes, session cookies and API tokens
as SHA-256 (see :mod:`.credentials`).
"""
