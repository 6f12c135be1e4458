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
from dashboard.domain.timezones import zone_named

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


def _render(template: str, context: dict[str, object]) -> str:
    # The app's templates and filters, without its context processors: those read the
    # request (the theme, the signed-in person), and the worker renders with none.
    return current_app.jinja_env.get_template(template).render(**context)


def _amount(payment: Payment) -> str:
    return format_money(payment.amount_minor, payment.currency)
