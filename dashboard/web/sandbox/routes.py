"""The sandbox provider's hosted payment page and payment controls (development and tests only).

What TrueLayer's hosted payment page does for real: the payer sees the amount and reference and
pays or declines. Each step of the attempt goes out as a signed, TrueLayer-shaped webhook through
the same pipeline as TrueLayer's (verification, deduplication, ``apply_provider_event``).

The controls page of one payment plays what happens later at TrueLayer and the banks: the payment
settles, and its refunds are executed, fail, or are returned by the payer's bank.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from dashboard.domain.payments import ProviderEvent
from dashboard.providers.sandbox import NAME as SANDBOX
from dashboard.providers.sandbox import LinkNotPayable, SandboxProvider, attempt_id_of
from dashboard.providers.sandbox_refunds import (
    PaymentNotSettleable,
    RefundNotMovable,
    find_attempt,
    find_refund,
)
from dashboard.providers.sandbox_webhooks import SANDBOX_WEBHOOK_PATH
from dashboard.store.sandbox_links import SandboxAttempt, SandboxLink
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
    paid_attempt = next((a for a in link.attempts if a.status in ("executed", "settled")), None)
    paid = paid_attempt is not None
    return render_template(
        "sandbox/hosted.html",
        link=link,
        paid=paid,
        paid_attempt=paid_attempt,
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


# The payment controls page -------------------------------------------------------------------


def _link_and_attempt(link_id: str, attempt_id: str) -> tuple[SandboxLink, SandboxAttempt] | None:
    link = _provider().get_link(link_id) if len(link_id) <= 64 else None
    attempt = find_attempt(link, attempt_id) if link else None
    return (link, attempt) if link and attempt else None


@bp.get("/links/<link_id>/payments/<attempt_id>")
@public
@secret_in_path("link_id")  # who holds the link may act on its payments, as on the hosted page
def payment_controls(link_id: str, attempt_id: str) -> ResponseReturnValue:
    """Show one payment with Settle, and its refunds with Execute, Fail and Return."""
    found = _link_and_attempt(link_id, attempt_id)
    if found is None:
        return _not_found()
    link, attempt = found
    return render_template(
        "sandbox/payment.html",
        link=link,
        attempt=attempt,
        business=current_app.extensions["business"].profile_for_link(SANDBOX, link_id),
    )


@bp.post("/links/<link_id>/payments/<attempt_id>/settle")
@public
@secret_in_path("link_id")
def settle_payment(link_id: str, attempt_id: str) -> ResponseReturnValue:
    """Settle the executed payment: the money reached the merchant's account."""
    return _step(link_id, attempt_id, None, lambda p: p.settle(link_id, attempt_id))


@bp.post("/links/<link_id>/payments/<attempt_id>/refunds/<refund_id>/execute")
@public
@secret_in_path("link_id")
def execute_refund(link_id: str, attempt_id: str, refund_id: str) -> ResponseReturnValue:
    """Execute the refund (its payment must have settled): the money goes back to the payer."""
    return _step(
        link_id, attempt_id, refund_id, lambda p: p.execute_refund(link_id, attempt_id, refund_id)
    )


@bp.post("/links/<link_id>/payments/<attempt_id>/refunds/<refund_id>/fail")
@public
@secret_in_path("link_id")
def fail_refund(link_id: str, attempt_id: str, refund_id: str) -> ResponseReturnValue:
    """Fail the refund before it was executed (the merchant's account was short)."""
    return _step(
        link_id, attempt_id, refund_id, lambda p: p.fail_refund(link_id, attempt_id, refund_id)
    )


@bp.post("/links/<link_id>/payments/<attempt_id>/refunds/<refund_id>/return")
@public
@secret_in_path("link_id")
def return_refund(link_id: str, attempt_id: str, refund_id: str) -> ResponseReturnValue:
    """Return the executed refund: the payer's bank sent the money back."""
    return _step(
        link_id, attempt_id, refund_id, lambda p: p.return_refund(link_id, attempt_id, refund_id)
    )


def _step(
    link_id: str,
    attempt_id: str,
    refund_id: str | None,
    step: Callable[[SandboxProvider], list[ProviderEvent]],
) -> ResponseReturnValue:
    found = _link_and_attempt(link_id, attempt_id)
    if found is None or (refund_id is not None and find_refund(found[1], refund_id) is None):
        return _not_found()
    try:
        events = step(_provider())
    except (PaymentNotSettleable, RefundNotMovable):
        events = []  # a double click or a second tab: the page shows where things are now
    _deliver(events)
    return redirect(
        url_for("sandbox.payment_controls", link_id=link_id, attempt_id=attempt_id), 303
    )
