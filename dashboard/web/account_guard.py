"""A tab rendered for one account never writes into another.

A person in several accounts may switch in one tab while another still shows the first. Every
form the app renders for a signed-in person carries the account it was rendered for (the
``account`` field, ``account_field()`` in templates), and so does every htmx request (the
``X-Account`` header, set on ``<body>``). A request that names another account than the one its
session works in now is refused before any route runs: a 409 page that says so, or for htmx a
navigation to the payments of the account chosen, with the same words. Nothing is written.
"""

from __future__ import annotations

from flask import Flask, flash, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from dashboard.core.errors import Conflict
from dashboard.web.actor import resolve_actor
from dashboard.web.htmx import request_is_partial

ACCOUNT_FIELD = "account"
ACCOUNT_HEADER = "X-Account"
# Where the account a page was rendered for does not matter: switching (from any tab) and
# signing out.
EXEMPT_ENDPOINTS = frozenset({"accounts.switch_account", "auth.logout"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class AccountSwitched(Conflict):
    """Raised when a request was rendered for another account than the session's now."""

    title = "You switched account in another tab"
    message = (
        "You switched account in another tab, so this page belonged to another account. "
        "Nothing was changed. Reload the page to work in the account you chose."
    )


def account_rendered_for() -> str | None:
    """Return the account the request says it was rendered for, or None if it says none."""
    header = request.headers.get(ACCOUNT_HEADER)
    if header is not None:
        return header
    if request.method != "GET" and request.mimetype in _FORM_TYPES:
        return request.form.get(ACCOUNT_FIELD)
    return None


def refuse_requests_for_another_account() -> ResponseReturnValue | None:
    """Stop a request rendered for another account than the session works in (409)."""
    if request.endpoint in EXEMPT_ENDPOINTS:
        return None
    rendered_for = account_rendered_for()
    if rendered_for is None:
        return None
    actor = resolve_actor().actor
    if actor is None or not actor.uses_session or rendered_for == actor.account_id:
        return None
    if request_is_partial():
        # htmx swaps no 4xx answer: send the tab to the chosen account's payments, saying why.
        flash(AccountSwitched.message, "warning")
        return "", 409, {"HX-Redirect": url_for("payments.list_payments")}
    raise AccountSwitched()


def account_field() -> Markup:
    """Return the hidden input naming the account a form is rendered for (none if signed out)."""
    actor = resolve_actor().actor
    if actor is None or not actor.uses_session:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        ACCOUNT_FIELD, escape(actor.account_id)
    )


def current_account_id() -> str | None:
    """Return the account the signed-in person works in (for ``hx-headers``), or None."""
    actor = resolve_actor().actor
    return actor.account_id if actor is not None and actor.uses_session else None


def init_app(app: Flask) -> None:
    """Check every request's account before its route, and give templates the form field."""
    app.before_request(refuse_requests_for_another_account)
    app.jinja_env.globals.update(account_field=account_field, current_account_id=current_account_id)
