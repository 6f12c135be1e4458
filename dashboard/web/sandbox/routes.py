"""The sandbox provider's hosted payment page (development and tests only).

What TrueLayer's hosted payment page does for real: the payer sees the amount and reference and
pays or declines. Each step of the attempt goes out as a signed, TrueLayer-shaped webhook through
the same pipeline as TrueLayer's (verification, deduplication, ``apply_provider_event``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from dashboard.domain.payments import ProviderEvent
from dashboard.providers.sandbox import NAME as SANDBOX
from dashboard.providers.sandbox import LinkNotPayable, SandboxProvider, attempt_id_of
from dashboard.providers.sandbox_webhooks import SANDBOX_WEBHOOK_PATH
from dashboard.web.permissions import public
from dashboard.web.request_log import secret_in_path

log = logging.getLogger(__name__)
bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


def _provider() -> SandboxProvider:
    return current_app.extensions["payment_provider"]


def _not_found() -> ResponseReturnValue:
    return render_template(
        "payer/not_found.html",
        business=None,
        title="Payment link not found",
        message="This payment link is not valid. Check the link you were sent.",
    ), 404


@bp.get("/jwks")
@public
def jwks() -> ResponseReturnValue:
    """Publish the public key that signs the sandbox's webhooks."""
    return current_app.extensions["sandbox_webhooks"].jwks


def send_webhook(event: ProviderEvent) -> bool:
    """Send one event as a signed, TrueLayer-shaped webhook; return True if the app accepted it.

    Signed afresh on every delivery, as TrueLayer does: the receiver refuses stale timestamps.
    """
    webhook = current_app.extensions["sandbox_webhooks"].webhook(event)
    if webhook is None:
        return True  # TrueLayer sends no webhook for this step either
    body, headers = webhook
    answer, status = current_app.extensions["webhook_intake"].receive(
        "sandbox", headers["Tl-Signature"], SANDBOX_WEBHOOK_PATH, headers, body
    )
    if status >= 300:
        log.warning("Sandbox webhook %s was answered %s: %s", event.event_id, status, answer)
    return status < 300


def _deliver(events: Iterable[ProviderEvent]) -> None:
    """Deliver the events in order; one the app does not accept now is sent again later."""
    retries = current_app.extensions["sandbox_webhook_retries"]
    for event in events:
        retries.deliver(event)


@bp.get("/links/<link_id>")
@public
@secret_in_path("link_id")  # the link is the payer's: whoever holds it can pay or decline
def hosted_page(link_id: str) -> ResponseReturnValue:
    """Show the payer the amount and reference, with Pay now and Decline."""
    provider = _provider()
    if len(link_id) > 64:
        return _not_found()
    _deliver(provider.expire_if_due(link_id))
    link = provider.get_link(link_id)
    if link is None:
        return _not_found()
    paid = any(a.status in ("executed", "settled") for a in link.attempts)
    return render_template(
        "sandbox/hosted.html",
        link=link,
        paid=paid,
        payable=link.status == "active" and not paid and not provider.is_expired(link),
        failed_attempts=sum(1 for a in link.attempts if a.status == "failed"),
        # What TrueLayer's page shows is the name in its Console; the sandbox shows the account's.
        business=current_app.extensions["business"].profile_for_link(SANDBOX, link_id),
    )


@bp.post("/links/<link_id>/pay")
@public
@secret_in_path("link_id")
def pay(link_id: str) -> ResponseReturnValue:
    """Run a successful attempt, then send the payer back to the merchant's result page."""
    return _run(link_id, paid=True)


@bp.post("/links/<link_id>/decline")
@public
@secret_in_path("link_id")
def decline(link_id: str) -> ResponseReturnValue:
    """Run an attempt that the payer's bank declines; the link stays payable."""
    return _run(link_id, paid=False)


def _run(link_id: str, paid: bool) -> ResponseReturnValue:
    provider = _provider()
    link = provider.get_link(link_id) if len(link_id) <= 64 else None
    if link is None:
        return _not_found()
    try:
        started = provider.start_attempt(link_id)
    except LinkNotPayable:
        return redirect(url_for("sandbox.hosted_page", link_id=link_id), 303)
    attempt_id = attempt_id_of(started)
    # The payer is at their bank now: what the app makes of the news (even DynamoDB failing to
    # store it) must not stop the bank's answer. Undelivered webhooks are sent again later.
    _deliver(started)
    _deliver(provider.finish_attempt(link_id, attempt_id, paid=paid))
    separator = "&" if "?" in link.return_uri else "?"
    query = urlencode({"payment_id": attempt_id})
    return redirect(f"{link.return_uri}{separator}{query}", 303)
