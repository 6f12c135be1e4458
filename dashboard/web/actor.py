"""Who is acting in this request, resolved once: the session's person or the API key presented.

Every route asks ``current_actor()`` and hands ``actor.account_id`` (or the actor) to the
services; no route reads the session's subject or an API key's user id itself. The actor is
resolved on first use and kept on ``flask.g``: the session is only read when a route needs it,
so ``/health`` and static files never touch the session store.

On the JSON API (the ``api`` blueprint) a request that presents an Authorization header is
judged by it alone: a malformed, unknown or revoked key gives no actor and a refusal to quote,
never a fall back to the session cookie. A key's merchant becomes flask-login's current user for
this request only; the session is never written.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user

from dashboard.domain.actor import Actor, Person
from dashboard.domain.user import User

API_BLUEPRINT = "api"


@dataclass(frozen=True)
class ActorResolution:
    """The outcome of reading a request's credentials: an actor, or why there is none."""

    actor: Actor | None
    refusal: str | None = None  # set when credentials were presented and refused


def resolve_actor() -> ActorResolution:
    """Return who is acting in this request (read once, then kept on ``g``)."""
    if "actor_resolution" not in g:
        g.actor_resolution = _read_credentials()
    return g.actor_resolution


def current_actor() -> Actor:
    """Return the actor; only for routes behind sign-in (``login_required``) or the API's check."""
    actor = resolve_actor().actor
    assert actor is not None, "route is not behind login_required or require_caller"
    return actor


def _read_credentials() -> ActorResolution:
    header = request.headers.get("Authorization")
    if header is not None and request.blueprint == API_BLUEPRINT:
        return _read_api_key(header)
    if current_user.is_authenticated:
        sub = current_user.sub  # the one read of the session's subject
        person = Person(issuer=current_app.extensions["settings"].oidc_issuer, sub=sub)
        return ActorResolution(Actor.for_person(sub, person))
    return ActorResolution(None)


def _read_api_key(header: str) -> ActorResolution:
    scheme, _, presented = header.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return ActorResolution(None, "Send the API key as: Authorization: Bearer <API key>.")
    service = current_app.extensions.get("api_keys")
    principal = service.authenticate(presented) if service is not None else None
    if principal is None:
        return ActorResolution(None, "The API key is not valid: it is unknown or revoked.")
    # The key's merchant is flask-login's user for this request only (nothing is written to
    # the session, so a key can never leave a signed-in cookie behind).
    g._login_user = User(sub=principal.user_id)
    return ActorResolution(Actor.for_api_key(principal.user_id, principal.key_id))
