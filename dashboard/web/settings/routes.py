"""Routes for the merchant's settings (API keys). They parse input and render; services decide.

Every member may see the keys (who made each, what it may do); only an Owner, Admin or
Developer may create or revoke one (``Permission.MANAGE_API_KEYS``).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required, logout_user

from dashboard.core.signed_ids import FormExpired
from dashboard.domain.api_keys import ApiKey, KeyScope
from dashboard.domain.audit import AuditAction
from dashboard.domain.permissions import Permission
from dashboard.services.api_keys import (
    MAX_ACTIVE_KEYS,
    ApiKeyAlreadyCreated,
    ApiKeyLimitReached,
    ApiKeyService,
    InvalidKeyName,
    is_key_id,
)
from dashboard.web.actor import current_actor
from dashboard.web.auth.routes import audit_log, provider_logout_url, session_service
from dashboard.web.confirm import Confirmation, confirm_page
from dashboard.web.hosts import external_url
from dashboard.web.permissions import requires, signed_in
from dashboard.web.settings.forms import NewApiKeyForm, unsign_key_id, with_new_key_id
from dashboard.web.step_up import recent_sign_in_required

bp = Blueprint("settings", __name__, url_prefix="/settings")

# Built by the JSON API; linked by path so this page does not depend on that blueprint.
API_DOCS_PATH = "/api/v1/docs"
ALREADY_CREATED = (
    "This key was already created and shown once. If you did not copy it, revoke it and "
    "create another."
)
FORM_EXPIRED = "This form was open too long. Check the name and create the key again."


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every settings page is for the signed-in merchant only."""


def api_key_service() -> ApiKeyService:
    """Return the app's API key service."""
    return current_app.extensions["api_keys"]


def _creator_labels(account_id: str, keys: list[ApiKey]) -> dict[str, str]:
    """Return who made each key, by key id, as the list shows it: an email, a key, or a leaver.

    A key outlives its maker: one made by someone who has left says so, and keeps working.
    """
    if not any(key.created_by for key in keys):
        return {}  # older keys record no maker: spare the members' Query
    emails = current_app.extensions["accounts"].member_emails(account_id)
    labels = {}
    for key in keys:
        made_by = key.created_by
        if made_by is None:
            continue
        if is_key_id(made_by):
            labels[key.key_id] = f"API key {made_by}"
        else:
            labels[key.key_id] = emails.get(made_by, "a former member")
    return labels


def _settings_page(
    form: NewApiKeyForm, status: int = 200, limit_reached: bool = False
) -> ResponseReturnValue:
    account_id = current_actor().account_id
    keys = api_key_service().list_keys(account_id)
    return (
        render_template(
            "settings/index.html",
            form=form,
            keys=keys,
            creators=_creator_labels(account_id, keys),
            revoke_confirmations={
                key.key_id: _revoke_confirmation(key, index)
                for index, key in enumerate(keys, start=1)
                if key.is_active
            },
            sign_out_everywhere_confirmation=_sign_out_everywhere_confirmation(),
            active_count=sum(1 for key in keys if key.is_active),
            max_active=MAX_ACTIVE_KEYS,
            limit_reached=limit_reached,
            docs_url=API_DOCS_PATH,
            # Never from the browser's cache: its form carries a key id minted for one submit, and
            # a page brought back with the back button would offer that id again.
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.get("")
@requires(Permission.READ)
def settings_page() -> ResponseReturnValue:
    """Show the settings: the merchant's API keys and the form to create one."""
    return _settings_page(with_new_key_id(NewApiKeyForm(), current_actor().account_id))


@bp.post("/api-keys")
@requires(Permission.MANAGE_API_KEYS)  # first: a role that may not gets a 403, not a sign-in
@recent_sign_in_required(return_to="settings.settings_page")
def create_api_key() -> ResponseReturnValue:
    """Create a key and show it, this once; or show the form again with what was wrong.

    Needs a sign-in from the last 5 minutes: a key reads and moves the account's money.

    The form carries the key id minted when it was shown: sent again (the browser reloads the
    "created" page by resubmitting it), it finds that key made and says so, never a second key.
    """
    actor = current_actor()
    form = NewApiKeyForm()
    try:
        key_id = unsign_key_id(form.key_token.data or "", actor.account_id)
    except FormExpired:
        flash(FORM_EXPIRED, "warning")
        return _settings_page(with_new_key_id(form, actor.account_id), 422)
    if not form.validate():
        return _settings_page(form, 422)
    try:
        key, full_key = api_key_service().create_key(
            actor, form.name.data, key_id, KeyScope(form.scope.data)
        )
    except InvalidKeyName as exc:
        form.name.errors = [str(exc)]
        return _settings_page(form, 422)
    except ApiKeyAlreadyCreated:
        flash(ALREADY_CREATED, "warning")
        return _settings_page(with_new_key_id(NewApiKeyForm(formdata=None), actor.account_id), 409)
    except ApiKeyLimitReached:
        return _settings_page(form, 422, limit_reached=True)
    # Rendered, not redirected: a redirect would have to carry the key in the session cookie.
    response = current_app.make_response(
        render_template(
            "settings/key_created.html",
            key=key,
            full_key=full_key,
            api_url=external_url("api.list_payments"),
            docs_url=API_DOCS_PATH,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _revoke_confirmation(key: ApiKey, index: int = 1) -> Confirmation:
    """Return what revoking the key does, for its dialog and its confirm page."""
    return Confirmation(
        dialog_id=f"confirm-revoke-key-{index}",
        title=f"Revoke the API key “{key.name}”?",
        consequence=(
            f"Systems using “{key.name}” ({key.display_prefix}) stop working at once: "
            "their requests are refused. This cannot be undone."
        ),
        action_url=url_for("settings.revoke_api_key", key_id=key.key_id),
        confirm_url=url_for("settings.confirm_revoke_api_key", key_id=key.key_id),
        confirm_label="Revoke key",
        cancel_url=url_for("settings.settings_page"),
    )


def _sign_out_everywhere_confirmation() -> Confirmation:
    """Return what signing out everywhere does, for its dialog and its confirm page."""
    return Confirmation(
        dialog_id="confirm-sign-out-everywhere",
        title="Sign out everywhere?",
        consequence=(
            "Every session of yours ends, on every device and browser, this one included. "
            "You sign in again to carry on."
        ),
        action_url=url_for("settings.sign_out_everywhere"),
        confirm_url=url_for("settings.confirm_sign_out_everywhere"),
        confirm_label="Sign out everywhere",
        cancel_url=url_for("settings.settings_page"),
    )


@bp.get("/api-keys/<key_id>/revoke/confirm")
@requires(Permission.MANAGE_API_KEYS)
def confirm_revoke_api_key(key_id: str) -> ResponseReturnValue:
    """Ask before revoking a key (the page without JavaScript; the dialog says the same)."""
    keys = api_key_service().list_keys(current_actor().account_id)
    key = next((key for key in keys if key.key_id == key_id), None)
    if key is None:
        abort(404)
    if not key.is_active:
        flash(f"API key “{key.name}” is already revoked.", "warning")
        return redirect(url_for("settings.settings_page"), 303)
    return confirm_page(_revoke_confirmation(key))


@bp.get("/sign-out-everywhere/confirm")
@signed_in
def confirm_sign_out_everywhere() -> ResponseReturnValue:
    """Ask before ending every session (the page without JavaScript; the dialog says the same)."""
    return confirm_page(_sign_out_everywhere_confirmation())


@bp.post("/api-keys/<key_id>/revoke")
@requires(Permission.MANAGE_API_KEYS)
def revoke_api_key(key_id: str) -> ResponseReturnValue:
    """Revoke a key at once; requests that present it are refused from now on."""
    key = api_key_service().revoke_key(current_actor(), key_id)
    flash(f"API key “{key.name}” is revoked. Requests that use it are refused.", "success")
    return redirect(url_for("settings.settings_page"), 303)


@bp.post("/sign-out-everywhere")
@signed_in
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session of the signed-in person, on every device, this one included."""
    actor = current_actor()
    person = actor.person
    if person is None:  # only a signed-in person has sessions (an API key reaches no page)
        abort(403)
    session_service().end_everywhere(person)
    audit_log().record_session(actor, AuditAction.SIGNED_OUT_EVERYWHERE)
    logout_user()
    session.clear()
    return redirect(provider_logout_url(external_url("main.landing")), 303)
