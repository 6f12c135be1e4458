"""Routes for signing in and out: /login, /callback, /logout, and /confirm-sign-in (step-up).

A step-up is a sign-in asked with OIDC ``max_age`` (``/login?next=...&max_age=300``, which the
"Confirm it's you" page links to): the callback then refuses an ID token without ``auth_time``
or with one older than asked, and, when the same person signed in again, keeps their session
(its id, account and CSRF token) and records the new ``auth_time`` on it, instead of starting
a new session. ``dashboard.web.step_up`` decides which actions need a recent sign-in.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user
from requests import RequestException

from dashboard.core.errors import Unavailable
from dashboard.domain.actor import Actor, Person
from dashboard.domain.audit import AuditAction
from dashboard.domain.timezones import is_offered
from dashboard.domain.user import User
from dashboard.providers.outbound import OutboundUnavailable
from dashboard.services.accounts import AccountService
from dashboard.services.audit import AuditLogService
from dashboard.services.sessions import (
    AUTH_TIME_LEEWAY,
    SESSION_ID_KEY,
    STEP_UP_MAX_AGE,
    LiveSession,
    SessionService,
)
from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.actor import resolve_actor, with_request_details
from dashboard.web.auth.oidc import DeadlineOAuth, IdTokenRejected
from dashboard.web.hosts import external_url
from dashboard.web.permissions import public

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

_NEXT_KEY = "next_after_login"
# The ``max_age`` a step-up sign-in asked the provider for, kept until its callback.
_MAX_AGE_KEY = "max_age_asked"
_BROWSER_ZONE_KEY = "browser_time_zone"  # for a new account made at this sign-in
_LONGEST_MAX_AGE = 86_400  # a day: any longer is no step-up, and is ignored


def safe_next_url(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the payments page (no open redirect)."""
    if not target:
        return url_for("payments.list_payments")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("payments.list_payments")
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return url_for("payments.list_payments")
    return target


def _oidc() -> Any:  # Authlib's client: Authlib ships no types
    """Return this app's OpenID Connect client."""
    return current_app.extensions["oidc_client"]


def session_service() -> SessionService:
    """Return this app's server-side session service."""
    return current_app.extensions["sessions"]


def account_service() -> AccountService:
    """Return this app's account service."""
    return current_app.extensions["accounts"]


def audit_log() -> AuditLogService:
    """Return this app's audit log."""
    return current_app.extensions["audit_log"]


def end_browser_session() -> None:
    """Sign this browser out: delete its server-side session, then forget the cookie's content.

    The record goes first: if DynamoDB is down the StoreUnavailable 503 leaves the cookie as it
    was, so the person can sign out again, rather than a cookie that still works elsewhere.
    """
    session_id = session.get(SESSION_ID_KEY)
    if session_id:
        session_service().end(session_id)
    logout_user()
    session.clear()


def _signed_in_actor() -> Actor | None:
    """Return the person signed in to this browser, if anyone is (read before signing out)."""
    actor = resolve_actor().actor
    return actor if actor is not None and actor.person is not None else None


class SignInUnavailable(Unavailable):
    """Raised when the sign-in provider cannot be reached, answers too slowly or is busy."""

    title = "Sign-in is unavailable"
    message = "The sign-in service is not answering right now. Please try again in a minute."


# What a provider that is down, hung or saturated raises: each becomes the 503 sign-in page.
_PROVIDER_DOWN = (RequestException, OutboundUnavailable)


@bp.get("/login")
@public
def login() -> ResponseReturnValue:
    """Send the browser to the OpenID Connect provider to sign in (with ``max_age``: step-up)."""
    session[_NEXT_KEY] = safe_next_url(request.args.get("next"))
    # app.js adds the browser's zone to sign-in links; a new account starts in it.
    browser_zone = request.args.get("tz", "")
    if is_offered(browser_zone):
        session[_BROWSER_ZONE_KEY] = browser_zone
    max_age = _max_age_asked(request.args.get("max_age"))
    extra: dict[str, Any] = {}
    if max_age is None:
        session.pop(_MAX_AGE_KEY, None)
    else:
        session[_MAX_AGE_KEY] = max_age
        # max_age is what the callback can verify (auth_time); prompt=login makes the provider
        # ask even when its own session is fresh, so "Confirm it's you" means what it says.
        # Auth0 honours both; oidc-provider-mock always shows its form and ignores them.
        extra = {"max_age": max_age, "prompt": "login"}
    try:
        return _oidc().authorize_redirect(external_url("auth.callback"), **extra)
    except _PROVIDER_DOWN as exc:
        raise SignInUnavailable(str(exc)) from exc


def _max_age_asked(value: str | None) -> int | None:
    """Return the ``max_age`` in seconds a sign-in link asks for, or None (a plain sign-in)."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    seconds = int(value)
    return seconds if seconds <= _LONGEST_MAX_AGE else None


def confirm_sign_in_url(return_to: str) -> str:
    """Return the link that signs the person in again for a step-up, then opens ``return_to``."""
    return url_for(
        "auth.login",
        next=safe_next_url(return_to),
        max_age=int(STEP_UP_MAX_AGE.total_seconds()),
    )


def sign_in_is_recent() -> bool:
    """Return True when the signed-in person authenticated within ``STEP_UP_MAX_AGE``."""
    if not current_user.is_authenticated:
        return False
    return session_service().signed_in_within(current_user.auth_time, STEP_UP_MAX_AGE)


def confirm_sign_in_page(return_to: str, status: int = 200) -> ResponseReturnValue:
    """Return the "Confirm it's you" page, whose button signs in again and opens ``return_to``."""
    return_to = safe_next_url(return_to)
    return (
        render_template(
            "auth/confirm_sign_in.html",
            return_to=return_to,
            confirm_url=confirm_sign_in_url(return_to),
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.get("/confirm-sign-in")
@public  # signed out, it sends the browser to sign in
def confirm_sign_in() -> ResponseReturnValue:
    """Ask the person to sign in again before a sensitive action (where htmx is sent)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=safe_next_url(request.args.get("next"))))
    return confirm_sign_in_page(request.args.get("next") or "")


@bp.get("/callback")
@public
def callback() -> ResponseReturnValue:
    """Finish sign-in: exchange the code, check the user, and start a fresh session.

    After a step-up (``max_age`` asked) by the person already signed in here, their session is
    kept instead, with the new ``auth_time``.
    """
    if "error" in request.args:
        # The user pressed "Deny" or the provider refused: say so instead of failing.
        return _sign_in_failed(request.args.get("error_description") or request.args["error"])
    max_age = session.pop(_MAX_AGE_KEY, None)
    try:
        # Exchange first: Authlib keeps the state, nonce and PKCE verifier in the session.
        token = _oidc().authorize_access_token()
    except OAuthError as exc:
        log.info("Sign-in callback rejected: %s", exc)
        return _sign_in_failed(exc.description or exc.error)
    except IdTokenRejected as exc:
        log.warning("Sign-in callback: %s", exc)
        return _sign_in_failed(
            "The sign-in provider's answer could not be verified. Please try again."
        )
    except _PROVIDER_DOWN as exc:
        raise SignInUnavailable(str(exc)) from exc
    claims = token.get("userinfo") or {}
    if not claims.get("sub"):
        abort(400)
    email, name = claims.get("email"), claims.get("name")
    if not _email_domain_allowed(email, claims.get("email_verified")):
        return _sign_in_failed("This account is not allowed to sign in to this dashboard.", 403)
    auth_time = _auth_time(claims)
    if max_age is not None and not _recent_enough(auth_time, max_age):
        return _sign_in_failed(
            "The sign-in provider did not confirm a recent sign-in. Please try again.",
            retry_url=confirm_sign_in_url(session.get(_NEXT_KEY) or ""),
        )

    person = Person(issuer=current_app.extensions["settings"].oidc_issuer, sub=claims["sub"])
    next_url = session.pop(_NEXT_KEY, None)
    verified = claims.get("email_verified") is True
    if max_age is not None and auth_time is not None and _stepped_up(person, auth_time, verified):
        return redirect(safe_next_url(next_url))
    membership = account_service().open_at_sign_in(
        person, email, name, browser_zone=session.pop(_BROWSER_ZONE_KEY, None)
    )
    # A new session for the signed-in user: nothing from before sign-in survives (no fixation).
    # The cookie names the server-side session and holds nothing else of the person, no tokens.
    previous = session.get(SESSION_ID_KEY)
    if previous:
        session_service().end(previous)  # signing in again replaces this browser's session
    session_id = session_service().start(
        person,
        membership.account_id,
        email,
        name,
        auth_time=auth_time,
        email_verified=verified,
    )
    session.clear()
    session.permanent = True
    session[SESSION_ID_KEY] = session_id
    signed_in = Actor.for_person(membership.account_id, person, membership.role)
    audit_log().record_session(with_request_details(signed_in, email), AuditAction.SIGNED_IN)
    return redirect(safe_next_url(next_url))


def _sign_in_failed(
    reason: str, status: int = 400, retry_url: str | None = None
) -> ResponseReturnValue:
    """Return the "Sign-in did not work" page, saying why."""
    return render_template(
        "auth/signin_failed.html", reason=reason, retry_url=retry_url or url_for("auth.login")
    ), status


def _recent_enough(auth_time: datetime | None, max_age: int) -> bool:
    """Return True when the ID token's ``auth_time`` honours the ``max_age`` asked for.

    OIDC Core: with ``max_age`` asked, the ID token MUST carry ``auth_time``. The check is ours:
    Authlib verifies neither its presence nor its age on the client side.
    """
    if session_service().signed_in_within(auth_time, timedelta(seconds=max_age), AUTH_TIME_LEEWAY):
        return True
    log.warning("Sign-in callback: auth_time %s does not honour max_age=%ss", auth_time, max_age)
    return False


def _stepped_up(person: Person, auth_time: datetime, email_verified: bool) -> bool:
    """Record a step-up on this browser's session if it is the same person's; return if it was.

    The session keeps its id, its account and everything in the cookie (the CSRF token too);
    a different person signing in gets a new session, as at any sign-in.
    """
    session_id = session.get(SESSION_ID_KEY)
    if not session_id:
        return False
    user = session_service().resolve(session_id)
    if user is None or user.person != person:
        return False
    return session_service().confirm_sign_in(session_id, auth_time, email_verified)


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    """Sign out here, then at the provider, which sends the browser back to the landing page."""
    actor = _signed_in_actor()
    end_browser_session()
    if actor is not None:
        audit_log().record_session(actor, AuditAction.SIGNED_OUT)
    return redirect(provider_logout_url(external_url("main.landing")))


def provider_logout_url(return_to: str) -> str:
    """Return where to send the browser to sign out at the provider too (or ``return_to``)."""
    settings = current_app.extensions["settings"]
    try:
        metadata = _oidc().load_server_metadata()
    except _PROVIDER_DOWN:
        log.warning("Sign-in provider unreachable at sign-out; signed out locally only")
        return return_to
    end_session = metadata.get("end_session_endpoint")
    if end_session:
        query = {"client_id": settings.oidc_client_id, "post_logout_redirect_uri": return_to}
        return f"{end_session}?{urlencode(query)}"
    if settings.is_auth0:
        query = {"client_id": settings.oidc_client_id, "returnTo": return_to}
        return f"{settings.oidc_issuer.rstrip('/')}/v2/logout?{urlencode(query)}"
    return return_to


def _auth_time(claims: dict[str, Any]) -> datetime | None:
    """Return when the provider authenticated the person (``auth_time``), or None if unsaid."""
    value = claims.get("auth_time")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _email_domain_allowed(email: str | None, verified: object) -> bool:
    """Return True when the settings let this address sign in.

    With a domain list set, only an address the provider says it verified counts: a missing
    ``email_verified`` claim is "not verified", since many providers let anyone type an address
    they do not own and only set the claim once it was checked.
    """
    allowed = current_app.extensions["settings"].signin_allowed_email_domains
    if not allowed:
        return True
    if verified is not True:
        return False
    domain = (email or "").rpartition("@")[2].lower()
    return bool(domain) and domain in allowed


def _with_membership(live: LiveSession) -> User | None:
    """Return the session's person with their role in its account, read on every request.

    Read each time, strongly consistent (with the session item when the session service knew
    whose it was, else one GetItem), so a member removed from the account or given another
    role is treated so from their next request. A session whose account the person left moves
    to another of theirs; with none left, the session ends.
    """
    user, accounts = live.user, account_service()
    if live.membership_read:
        membership = live.membership
    else:
        membership = accounts.membership(user.person, user.account_id)
    if membership is None:
        membership = accounts.fallback_membership(user.person)
        if membership is None or user.session_hash is None:
            if user.session_hash is not None:
                session_service().end_by_hash(user.session_hash)
            return None
        session_service().switch_account(user.session_hash, membership.account_id)
    return replace(
        user,
        account_id=membership.account_id,
        role=membership.role,
        account_name=membership.account_name,
        time_zone=membership.time_zone,
    )


def init_app(app: Flask) -> None:
    """Register the OIDC client and tell flask-login how to find the signed-in merchant."""
    from dashboard.web.extensions import login_manager

    settings = app.extensions["settings"]
    # One OAuth registry per app: Authlib caches clients by name, so a shared registry would
    # hand a second app (tests build many) the first app's issuer.
    oauth = DeadlineOAuth(app)
    app.extensions["oidc_client"] = oauth.register(
        "oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_metadata_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    app.extensions["sessions"] = SessionService(
        app.extensions["store"].sessions,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_lifetime_hours),
    )
    login_manager.init_app(app)
    # The server-side session is the protection: flask-login's cookie fingerprinting adds none.
    login_manager.session_protection = None

    @login_manager.request_loader
    def load_user(_request: Request) -> User | None:
        session_id = session.get(SESSION_ID_KEY)
        if not session_id:
            return None
        try:
            live = session_service().resolve_with_membership(session_id)
            user = _with_membership(live) if live is not None else None
        except StoreUnavailable:
            # The 503 page renders the header too: it must see nobody signed in, not ask again.
            g._login_user = login_manager.anonymous_user()
            raise
        if user is None:
            session.pop(SESSION_ID_KEY, None)  # ended or expired: the cookie stops naming it
        return user

    @login_manager.unauthorized_handler
    def unauthorized() -> ResponseReturnValue:
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            # htmx would swap a 302's target page into the fragment; tell it to navigate.
            current_url = request.headers.get("HX-Current-URL", "")
            path = urlsplit(current_url).path or "/"
            return "", 401, {"HX-Redirect": url_for("auth.login", next=path)}
        if request.accept_mimetypes.best == "application/json":
            return {"error": "Sign in first."}, 401
        return redirect(login_url)
