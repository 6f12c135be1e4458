"""Routes for the account switcher in the header: a person in several accounts picks one."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from dashboard.services.accounts import AccountService
from dashboard.services.sessions import SESSION_ID_KEY, SessionService, session_hash
from dashboard.web.actor import current_actor
from dashboard.web.permissions import signed_in

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


@bp.post("/switch")
@signed_in
def switch_account() -> ResponseReturnValue:
    """Make this browser's session work in another of the person's accounts.

    Other tabs of the same session follow from their next request; a form they still show for
    the account left is refused rather than written into this one.
    """
    person = current_actor().person
    assert person is not None, "only a signed-in person reaches this route"
    accounts: AccountService = current_app.extensions["accounts"]
    membership = accounts.switch(person, request.form.get("account_id", ""))
    sessions: SessionService = current_app.extensions["sessions"]
    sessions.switch_account(session_hash(session[SESSION_ID_KEY]), membership.account_id)
    flash(f"You are now working in {membership.account_name}.", "success")
    return redirect(url_for("payments.list_payments"), 303)
