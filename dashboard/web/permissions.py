"""What each route needs, declared once on the route and checked on the server for every request.

Every view says who may call it, under its route decorator (as CTFd's ``@admins_only`` does)::

    @bp.post("/payments")
    @requires(Permission.TAKE_PAYMENTS)
    def create_payment(): ...

``requires(permission)`` checks the actor: a signed-in person by their role in the account
(read from the membership on every request), an API key by its scope. A refusal is a
``NotPermitted`` (a ``Forbidden``), which the one error catalogue answers with a 403: the error
page naming the roles that may, the error block for htmx, problem+json ``forbidden`` on the
API. Nothing runs, so nothing is written. ``@public`` marks what anyone may call (the landing
page, sign-in, payer pages, webhooks) and ``@signed_in`` what any signed-in person may do to
their own session whatever their role (switch account, sign out everywhere).

``init_app`` refuses to start an app with a route that declares none of these, and gives
templates ``can(permission)`` so the interface hides what the role cannot do.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask

from dashboard.domain.permissions import NotPermitted, Permission, can
from dashboard.web.actor import resolve_actor
from dashboard.web.extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])

DECLARATION = "required_permission"  # the attribute a declaration sets on its view
# Flask's own route for static files, the one view no blueprint of ours declares.
FRAMEWORK_PUBLIC_ENDPOINTS = frozenset({"static"})


class Access(StrEnum):
    """A route's declaration when it is not a permission in the account."""

    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed_in"  # any signed-in person, whatever their role


Requirement = Permission | Access


class UndeclaredRoute(RuntimeError):
    """Raised at start-up for a route that does not say who may call it."""


def _declare(view: View, requirement: Requirement) -> View:
    setattr(view, DECLARATION, requirement)
    return view


def requires(permission: Permission) -> Callable[[View], View]:
    """Return a decorator that lets the view run only for an actor who has ``permission``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            actor = resolve_actor().actor
            if actor is None:
                # The blueprints ask for sign-in first; this only keeps a slip from opening a route.
                return login_manager.unauthorized()
            if not can(actor, permission):
                raise NotPermitted(actor, permission)
            return view(*args, **kwargs)

        return _declare(cast(View, checked), permission)

    return decorate


def signed_in(view: View) -> View:
    """Let any signed-in person call the view, whatever their role: their own session."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if resolve_actor().actor is None:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return _declare(cast(View, checked), Access.SIGNED_IN)


def public(view: View) -> View:
    """Mark the view as open to anyone: it checks what it needs itself (a token, a signature)."""
    return _declare(view, Access.PUBLIC)


def requirement_of(app: Flask, endpoint: str) -> Requirement | None:
    """Return what a route declared (``Access.PUBLIC`` for Flask's static files), or None."""
    if endpoint in FRAMEWORK_PUBLIC_ENDPOINTS:
        return Access.PUBLIC
    return cast(Requirement | None, getattr(app.view_functions[endpoint], DECLARATION, None))


def check_declarations(app: Flask) -> None:
    """Raise UndeclaredRoute naming every route that declares no requirement."""
    missing = sorted(e for e in app.view_functions if requirement_of(app, e) is None)
    if missing:
        raise UndeclaredRoute(
            "Every route must declare who may call it (@requires(Permission...), @signed_in "
            f"or @public, under the route decorator); these do not: {', '.join(missing)}"
        )


def actor_can(permission: str) -> bool:
    """Return True when this request's actor may do it (templates: ``can('take_payments')``).

    Nobody signed in can do nothing; an unknown permission name is an error, not a False.
    """
    actor = resolve_actor().actor
    return actor is not None and can(actor, Permission(permission))


def init_app(app: Flask) -> None:
    """Refuse a route without a declaration, and give templates ``can(permission)``."""
    check_declarations(app)
    app.jinja_env.globals["can"] = actor_can
