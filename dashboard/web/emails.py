"""The emails' words: each kind rendered from its templates (plain text and HTML), in the
account's business name, with times in the account's zone.

Rendered when the email is queued, so every attempt sends the same message. Called in a
request (the merchant's link email) or by the delivery worker (receipts) with an app context.
"""

from __future__ import annotations

from flask import current_app, g

from dashboard.domain.business import BusinessProfile
from dashboard.domain.emails import Email, EmailKind
from dashboard.domain.money import format_money
from dashboard.domain.payments import Payment
from dashboard.domain.refunds import RefundStatus
from dashboard.domain.timezones import zone_named
from dashboard.domain.webhook_endpoints import WebhookEndpoint

_TEMPLATES = {
    EmailKind.PAYMENT_LINK: "payment_link",
    EmailKind.RECEIPT: "receipt",
    EmailKind.REFUND_RECEIPT: "refund_receipt",
}
_DEFAULT_NAME = "Payment Dashboard"


def render_email(
    kind: EmailKind,
    payment: Payment,
    profile: BusinessProfile | None,
    refund_id: str | None = None,
) -> Email:
    """Return the ``kind`` email about ``payment`` (and its refund ``refund_id``) to its payer."""
    assert payment.payer_email, "an email about a payment goes to its payer"
    business = (profile.name if profile else "") or _DEFAULT_NAME
    # Times read in the merchant's zone (the payer has none we know), named by abbreviation.
    g.time_zone = zone_named(profile.time_zone if profile else None)
    refund = payment.refund(refund_id) if refund_id else None
    refunded = format_money(refund.amount_minor, payment.currency) if refund else ""
    subject = {
        EmailKind.PAYMENT_LINK: f"{business}: payment of {_amount(payment)} requested",
        EmailKind.RECEIPT: f"{business}: receipt for {_amount(payment)}",
        EmailKind.REFUND_RECEIPT: f"{business}: {refunded} refunded",
    }[kind]
    context = {
        "payment": payment,
        "business": business,
        "support_email": profile.support_email if profile else None,
        "amount": _amount(payment),
        "refund": refund,
        "refunded": refunded,
        "subject": subject,
    }
    name = _TEMPLATES[kind]
    return Email(
        kind=kind,
        to=payment.payer_email,
        subject=subject,
        text=_render(f"emails/{name}.txt", context),
        html=_render(f"emails/{name}.html", context),
        sender_name=business,
        reply_to=profile.support_email if profile else None,
    )


def render_notice(
    kind: EmailKind,
    to: str,
    payment: Payment | None,
    endpoint: WebhookEndpoint | None,
    profile: BusinessProfile | None,
    refund_id: str | None = None,
) -> Email:
    """Return the team notice ``kind`` to the member at ``to``: about ``payment`` (and its
    refund ``refund_id``), or about the disabled ``endpoint``.

    Links are absolute (PUBLIC_BASE_URL): the worker renders with no request to take a host
    from. They open in the account the member's session works in.
    """
    business = (profile.name if profile else "") or _DEFAULT_NAME
    g.time_zone = zone_named(profile.time_zone if profile else None)
    base = current_app.extensions["settings"].public_base_url
    rows: list[tuple[str, str]] = []
    if kind is EmailKind.NOTICE_ENDPOINT_DISABLED:
        assert endpoint is not None, "an endpoint notice names its endpoint"
        subject = f"{business}: webhook endpoint disabled"
        headline = (
            "A webhook endpoint was disabled: no delivery to it succeeded for 3 days, so "
            "deliveries to it stopped."
        )
        rows = [("Endpoint", endpoint.url), ("Reason", endpoint.disabled_reason or "")]
        link, link_text = f"{base}/settings/webhooks/{endpoint.endpoint_id}", "See the endpoint"
        about: tuple[str, str] = ("webhook_endpoint", endpoint.endpoint_id)
    else:
        assert payment is not None, "a payment notice names its payment"
        refund = payment.refund(refund_id) if refund_id else None
        amount = _amount(payment)
        if kind is EmailKind.NOTICE_PAYMENT_COMPLETED:
            subject = f"{business}: {amount} received"
            headline = f"A payment of {amount} completed."
        elif kind is EmailKind.NOTICE_PAYMENT_FAILED:
            subject = f"{business}: a payment attempt of {amount} failed"
            headline = f"A payer's attempt to pay {amount} failed; the link can be paid again."
        else:
            refunded = format_money(refund.amount_minor, payment.currency) if refund else ""
            executed = refund is not None and refund.status is RefundStatus.EXECUTED
            subject = f"{business}: refund of {refunded} " + ("executed" if executed else "failed")
            headline = f"A refund of {refunded} " + (
                "reached the payer." if executed else "failed: the payer did not get it."
            )
        rows = [("Amount", amount), ("Reference", payment.reference)]
        if payment.payer_email:
            rows.append(("Payer", payment.payer_email))
        link, link_text = f"{base}/payments/{payment.payment_id}", "See the payment"
        about = ("payment", payment.payment_id)
    context: dict[str, object] = {
        "business": business,
        "support_email": None,
        "subject": subject,
        "headline": headline,
        "rows": rows,
        "link": link,
        "link_text": link_text,
        "settings_link": f"{base}/settings/notifications",
    }
    return Email(
        kind=kind,
        to=to,
        subject=subject,
        text=_render("emails/notice.txt", context),
        html=_render("emails/notice.html", context),
        sender_name=business,
        about_type=about[0],
        about_id=about[1],
    )


def _render(template: str, context: dict[str, object]) -> str:
    # The app's templates and filters, without its context processors: those read the
    # request (the theme, the signed-in person), and the worker renders with none.
    return current_app.jinja_env.get_template(template).render(**context)


def _amount(payment: Payment) -> str:
    return format_money(payment.amount_minor, payment.currency)
