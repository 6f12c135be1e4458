"""Who is acting in this request, resolved once: the session's person or the API key presented.

Every route asks ``current_actor()`` and hands ``actor.account_id`` (or the actor) to the
services; no route reads the session's subject or an API key's user id itself. The actor is
resolved on first use and kept on ``flask.g``: the session is only read when a route needs it,
so ``/health`` and static files never touch the session store.

On the JSON API (the ``api`` blueprint) a request that presents an Authorization header is
judged by it alone: a malformed, unknown or revoked key gives no actor and a refusal to quote,
never a fall back to the session cookie, and flask-login sees nobody signed in for the request
(the session is neither read nor written).

The session's person works in one account at a time (its role there read on every request);
every form and htmx request carries the account it was rendered for (``account`` field or
``X-Account`` header), and one that names another account than the session's is refused with
a 409 before any route runs: a tab left open on one account never writes into another.

For the audit log the actor also carries what to call it (the person's email, the key's name)
and the address the request came from (``request.remote_addr``: behind a load balancer,
ProxyFix has already put the client's address there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, g, request
from flask_login import current_user

from dashboard.domain.actor import Actor
from dashboard.domain.user import User
from dashboard.web.extensions import login_manager

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
        user: User = current_user._get_current_object()  # the one read of the session's person
        actor = replace(
            Actor.for_person(user.account_id, user.person, user.role), time_zone=user.time_zone
        )
        return ActorResolution(with_request_details(actor, user.email))
    return ActorResolution(None)


def with_request_details(actor: Actor, label: str | None) -> Actor:
    """Return the actor with what the audit log records of it: its label, the request's address."""
    return replace(actor, label=label, ip_address=request.remote_addr)


def _read_api_key(header: str) -> ActorResolution:
    scheme, _, presented = header.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return ActorResolution(None, "Send the API key as: Authorization: Bearer <API key>.")
    service = current_app.extensions.get("api_keys")
    principal = service.authenticate(presented) if service is not None else None
    if principal is None:
        return ActorResolution(None, "The API key is not valid: it is unknown or revoked.")
    # Judged by the key alone: flask-login must not load the session's person behind it.
    g._login_user = login_manager.anonymous_user()
    actor = Actor.for_api_key(principal.user_id, principal.key_id, principal.scope)
    return ActorResolution(with_request_details(actor, principal.name or None))
