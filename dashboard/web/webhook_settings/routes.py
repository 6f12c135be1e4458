"""Routes for Settings → Webhooks. They parse input and render; the services decide.

Only an Owner, Admin or Developer sees or changes webhook endpoints
(``Permission.MANAGE_WEBHOOKS``); every change needs a recent sign-in, as for API keys. A
signing secret is rendered twice only, never redirected with: when the endpoint is added and
when its secret is rotated.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.errors import InvalidInput
from dashboard.domain.deliveries import TEST_EVENT_TYPE, DeliveryState
from dashboard.domain.events import EventType
from dashboard.domain.permissions import Permission
from dashboard.domain.webhook_endpoints import WebhookEndpoint
from dashboard.services.deliveries import DeliveryService
from dashboard.services.webhook_endpoints import (
    MAX_ENDPOINTS,
    WebhookEndpointLimitReached,
    WebhookEndpointService,
)
from dashboard.store.cursors import InvalidCursor
from dashboard.web.actor import current_actor
from dashboard.web.confirm import Confirmation, confirm_page
from dashboard.web.permissions import requires
from dashboard.web.step_up import recent_sign_in_required
from dashboard.web.webhook_settings.forms import NewEndpointForm

bp = Blueprint("webhook_settings", __name__, url_prefix="/settings/webhooks")
_NO_STORE = {"Cache-Control": "no-store"}
STATE_FILTERS = {"delivered": DeliveryState.DELIVERED, "failed": DeliveryState.FAILED,
                 "pending": DeliveryState.PENDING}  # fmt: skip


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every webhook page is for the signed-in merchant only."""


def endpoints() -> WebhookEndpointService:
    """Return the app's webhook endpoint service."""
    return current_app.extensions["webhook_endpoints"]


def deliveries() -> DeliveryService:
    """Return the app's delivery service (the log, Resend, Send test event)."""
    return current_app.extensions["deliveries"]


def _list_page(form: NewEndpointForm, status: int = 200) -> ResponseReturnValue:
    listed = endpoints().list(current_actor().account_id)
    return (
        render_template(
            "webhook_settings/index.html",
            form=form,
            endpoints=listed,
            event_types=[t.value for t in EventType],
            max_endpoints=MAX_ENDPOINTS,
            all_types=frozenset(EventType),
        ),
        status,
        _NO_STORE,
    )


@bp.get("")
@requires(Permission.MANAGE_WEBHOOKS)
def webhooks_page() -> ResponseReturnValue:
    """Show the account's webhook endpoints and the form to add one."""
    return _list_page(NewEndpointForm(formdata=None))


@bp.post("")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def add_endpoint() -> ResponseReturnValue:
    """Add an endpoint and show its signing secret, this once; or the form with what was wrong."""
    form = NewEndpointForm()
    if not form.validate():
        return _list_page(form, 422)
    try:
        endpoint, secret = endpoints().add(
            current_actor(), None, form.url.data, form.chosen_event_types(), form.description.data
        )
    except InvalidInput as exc:
        for name, message in exc.errors.items():
            getattr(form, name).errors = [message]
        return _list_page(form, 422)
    except WebhookEndpointLimitReached as exc:
        form.url.errors = [exc.message]
        return _list_page(form, 422)
    return _secret_page(endpoint, secret, rotated=False)


def _secret_page(endpoint: WebhookEndpoint, secret: str, rotated: bool) -> ResponseReturnValue:
    # Rendered, not redirected: a redirect would have to carry the secret in the session.
    return (
        render_template(
            "webhook_settings/secret.html", endpoint=endpoint, secret=secret, rotated=rotated
        ),
        200,
        _NO_STORE,
    )


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    """Return the account's endpoint; another account's (or none) is a 404 from the service."""
    return endpoints().get(current_actor().account_id, endpoint_id)


@bp.get("/<endpoint_id>")
@requires(Permission.MANAGE_WEBHOOKS)
def endpoint_page(endpoint_id: str) -> ResponseReturnValue:
    """Show one endpoint, its actions, and its deliveries of the last 30 days."""
    endpoint = _endpoint(endpoint_id)
    state_name = request.args.get("state", "")
    state = STATE_FILTERS.get(state_name)
    event_type = request.args.get("event_type") or None
    known_types = [t.value for t in EventType] + [TEST_EVENT_TYPE]
    if event_type not in known_types:
        event_type = None
    try:
        page = deliveries().log(
            endpoint.account_id,
            endpoint.endpoint_id,
            state=state,
            event_type=event_type,
            cursor=request.args.get("cursor") or None,
        )
    except InvalidCursor:
        abort(400)
    next_url = None
    if page.next_cursor:
        next_url = url_for(
            ".endpoint_page",
            endpoint_id=endpoint.endpoint_id,
            state=state_name if state else None,
            event_type=event_type,
            cursor=page.next_cursor,
        )
    return (
        render_template(
            "webhook_settings/endpoint.html",
            endpoint=endpoint,
            all_types=frozenset(EventType),
            deliveries=page.deliveries,
            next_url=next_url,
            state_filter=state_name if state else "",
            event_type_filter=event_type or "",
            event_types=known_types,
            rotate=_rotate_confirmation(endpoint),
            delete=_delete_confirmation(endpoint),
        ),
        200,
        _NO_STORE,
    )


def _rotate_confirmation(endpoint: WebhookEndpoint) -> Confirmation:
    return Confirmation(
        dialog_id="confirm-rotate-secret",
        title="Rotate the signing secret?",
        consequence=(
            "A new secret signs every delivery from now on, and is shown once. The old secret "
            "keeps signing beside it for 24 hours, so you can update your receiver."
        ),
        action_url=url_for(".rotate_secret", endpoint_id=endpoint.endpoint_id),
        confirm_url=url_for(".confirm_rotate_secret", endpoint_id=endpoint.endpoint_id),
        confirm_label="Rotate secret",
        cancel_url=url_for(".endpoint_page", endpoint_id=endpoint.endpoint_id),
    )


def _delete_confirmation(endpoint: WebhookEndpoint) -> Confirmation:
    return Confirmation(
        dialog_id="confirm-delete-endpoint",
        title="Delete this webhook endpoint?",
        consequence=(
            f"No more events are sent to {endpoint.url}, and its signing secrets are deleted. "
            "This cannot be undone."
        ),
        action_url=url_for(".delete_endpoint", endpoint_id=endpoint.endpoint_id),
        confirm_url=url_for(".confirm_delete_endpoint", endpoint_id=endpoint.endpoint_id),
        confirm_label="Delete endpoint",
        cancel_url=url_for(".endpoint_page", endpoint_id=endpoint.endpoint_id),
    )


@bp.get("/<endpoint_id>/rotate-secret/confirm")
@requires(Permission.MANAGE_WEBHOOKS)
def confirm_rotate_secret(endpoint_id: str) -> ResponseReturnValue:
    """Ask before rotating the secret (the page without JavaScript; the dialog says the same)."""
    return confirm_page(_rotate_confirmation(_endpoint(endpoint_id)))


@bp.get("/<endpoint_id>/delete/confirm")
@requires(Permission.MANAGE_WEBHOOKS)
def confirm_delete_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Ask before deleting the endpoint (the page without JavaScript)."""
    return confirm_page(_delete_confirmation(_endpoint(endpoint_id)))


@bp.post("/<endpoint_id>/rotate-secret")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def rotate_secret(endpoint_id: str) -> ResponseReturnValue:
    """Give the endpoint a new secret and show it once; the old one signs for 24 hours more."""
    endpoint, secret = endpoints().rotate_secret(current_actor(), endpoint_id)
    return _secret_page(endpoint, secret, rotated=True)


@bp.post("/<endpoint_id>/disable")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def disable_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Stop delivering to the endpoint until it is enabled again."""
    endpoint = endpoints().disable(current_actor(), endpoint_id, "Disabled by a member.")
    flash(f"Deliveries to {endpoint.url} are stopped.", "success")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint.endpoint_id), 303)


@bp.post("/<endpoint_id>/enable")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def enable_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Deliver to the endpoint again."""
    endpoint = endpoints().enable(current_actor(), endpoint_id)
    flash(f"Events are delivered to {endpoint.url} again.", "success")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint.endpoint_id), 303)


@bp.post("/<endpoint_id>/delete")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def delete_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Delete the endpoint and its secrets."""
    endpoint = _endpoint(endpoint_id)
    endpoints().delete(current_actor(), endpoint_id)
    flash(f"The endpoint {endpoint.url} is deleted.", "success")
    return redirect(url_for(".webhooks_page"), 303)


@bp.post("/<endpoint_id>/test")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def send_test_event(endpoint_id: str) -> ResponseReturnValue:
    """Queue a webhook.test event to the endpoint and go back to its page."""
    deliveries().send_test(current_actor(), endpoint_id)
    flash("Queued a test event: it is sent within seconds. Reload to see it below.", "success")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id), 303)


@bp.post("/<endpoint_id>/deliveries/<event_id>/resend")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required(return_to="webhook_settings.webhooks_page")
def resend_delivery(endpoint_id: str, event_id: str) -> ResponseReturnValue:
    """Put one delivery back in the queue, due now, and go back to the endpoint's page."""
    delivery = deliveries().resend(current_actor(), endpoint_id, event_id)
    flash(f"Queued {delivery.event_type} ({event_id}) to be sent again.", "success")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id), 303)
