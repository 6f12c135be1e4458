"""Sensitive actions need a recent sign-in: ``@recent_sign_in_required``.

Creating an API key, inviting or removing a member, changing a role, transferring ownership
and refunds need the person to have signed in at the provider no more than
``STEP_UP_MAX_AGE`` (5 minutes) ago. The app judges that itself, from the session's
``auth_time`` (the ID token's, recorded at sign-in and at every step-up); Authlib only passes
the claim on. Use it under the route decorator, on the route that performs the action::

    @bp.post("/api-keys")
    @recent_sign_in_required(return_to="settings.settings_page")
    def create_api_key(): ...

``return_to`` names the page the form is on (an endpoint without arguments): where the person
lands, with a GET, after signing in again. Without it a GET route returns to itself, an htmx
request to the page it came from, any other request to the page that sent it (Referer).

With a sign-in older than that, the action is never performed, and never replayed later:

* a page request gets the "Confirm it's you" page (401), whose button signs in again with OIDC
  ``max_age`` (``/login?next=...&max_age=300``) and then opens the form's page;
* an htmx request gets ``HX-Redirect`` to that page (``/confirm-sign-in?next=...``);
* the JSON API, called with the browser session, answers 401 problem+json of type
  ``step-up-required``. An API key has no sign-in to refresh and is not asked: which keys may
  call a route is the route's permission check.

Signing in again keeps the session (its id, account and CSRF token): see ``web.auth.routes``.
A form's page shows "Confirm it's you" instead of the form while the sign-in is not recent:
``sign_in_is_recent()`` and the ``confirm_it_is_you`` macro (``auth/_confirm_it_is_you.html``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec
from urllib.parse import urlsplit

from flask import Flask, request, url_for
from flask.typing import ResponseReturnValue

from dashboard.services.sessions import STEP_UP_MAX_AGE
from dashboard.web.actor import resolve_actor
from dashboard.web.auth.routes import (
    confirm_sign_in_page,
    confirm_sign_in_url,
    safe_next_url,
    sign_in_is_recent,
)
from dashboard.web.extensions import login_manager
from dashboard.web.htmx import request_is_partial

P = ParamSpec("P")
View = Callable[P, ResponseReturnValue]

STEP_UP_MINUTES = int(STEP_UP_MAX_AGE.total_seconds() // 60)


class StepUpRequired(Exception):
    """Raised instead of running a sensitive action for a sign-in older than the step-up allows.

    ``dashboard.web.errors`` answers it: problem+json ``step-up-required`` for the JSON API,
    otherwise ``ask_to_confirm``.
    """

    def __init__(self, form_page: str):
        super().__init__(f"a sign-in from the last {STEP_UP_MINUTES} minutes is needed")
        self.form_page = form_page


def recent_sign_in_required(
    return_to: str | None = None,
) -> Callable[[View[P]], View[P]]:
    """Return a decorator that lets the view run only after a sign-in within 5 minutes."""

    def decorate(view: View[P]) -> View[P]:
        @wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            actor = resolve_actor().actor
            if actor is None:
                return login_manager.unauthorized()
            if not actor.uses_session or sign_in_is_recent():
                return view(*args, **kwargs)
            raise StepUpRequired(_form_page(return_to))

        return checked

    return decorate


def ask_to_confirm(form_page: str) -> ResponseReturnValue:
    """Return the answer to a page or htmx request whose sign-in is too old for the action."""
    if request_is_partial():
        # htmx swaps no 401: send the tab to the page that asks, which then opens the form.
        return "", 401, {"HX-Redirect": url_for("auth.confirm_sign_in", next=form_page)}
    return confirm_sign_in_page(form_page, 401)


def _form_page(return_to: str | None) -> str:
    """Return the page to land on after signing in again: the form's page, opened afresh."""
    if return_to is not None:
        return url_for(return_to)
    if request_is_partial():
        came_from = request.headers.get("HX-Current-URL")
    elif request.method == "GET":
        return safe_next_url(request.full_path.rstrip("?"))
    else:
        came_from = request.referrer
    parts = urlsplit(came_from or "")
    if parts.netloc and parts.netloc != request.host:
        return safe_next_url(None)
    return safe_next_url(parts.path + (f"?{parts.query}" if parts.query else ""))


def init_app(app: Flask) -> None:
    """Give templates what a form's page needs to ask "Confirm it's you" in the form's place."""
    app.jinja_env.globals.update(
        sign_in_is_recent=sign_in_is_recent,
        confirm_sign_in_url=confirm_sign_in_url,
        step_up_minutes=STEP_UP_MINUTES,
    )
