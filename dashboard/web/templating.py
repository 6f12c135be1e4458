"""Jinja filters and globals: money, times and statuses the way the merchant reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from babel.dates import format_timedelta
from babel.numbers import format_currency
from flask import Flask, url_for
from markupsafe import Markup

from dashboard.domain.business import LogoRef
from dashboard.domain.money import DISPLAY_LOCALE, currency_symbol, format_money
from dashboard.domain.payments import (
    AttemptStatus,
    PaymentStatus,
    describe_failure_reason,
    describe_failure_to_payer,
)
from dashboard.domain.refunds import describe_refund_failure
from dashboard.domain.search import highlight
from dashboard.web.zone import current_zone


def local_time_text(value: datetime | None, precise: bool = False) -> str:
    """Return a time in the account's zone as ``22 Nov 2026, 15:05 CET`` (text, for attributes).

    ``precise`` adds the seconds, for timelines whose steps can be seconds apart.
    """
    if value is None:
        return ""
    local = value.astimezone(current_zone())
    shown = local.strftime("%-d %b %Y, %H:%M:%S" if precise else "%-d %b %Y, %H:%M")
    return f"{shown} {local.tzname() or current_zone().key}"


def local_time(value: datetime | None, precise: bool = False) -> Markup:
    """Return a ``<time>`` in the account's zone, with the exact UTC time on hover.

    ``datetime`` holds the instant (RFC 3339, UTC) for machines and screen readers' tools.
    """
    if value is None:
        return Markup("")
    instant = value.astimezone(UTC)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        instant.isoformat().replace("+00:00", "Z"),
        instant.strftime("%-d %b %Y, %H:%M:%S UTC"),
        local_time_text(value, precise),
    )


def relative_to_now(value: datetime, now: datetime | None = None) -> str:
    """Return ``in 3 hours`` or ``5 minutes ago``."""
    now = now or datetime.now(UTC)
    return format_timedelta(value - now, add_direction=True, locale="en_GB")


def status_label(value: str) -> str:
    """Return the badge words for a payment status."""
    return PaymentStatus(value).label


def attempt_label(value: str) -> str:
    """Return an attempt's TrueLayer status in words."""
    return AttemptStatus(value).value.replace("_", " ").capitalize()


def decimal_money(amount: Decimal, currency: str) -> str:
    """Return a Decimal amount formatted for its currency."""
    return format_currency(amount, currency, locale=DISPLAY_LOCALE)


def logo_url(logo: LogoRef) -> str:
    """Return the URL of an account's logo: its digest and format, never the account id."""
    return url_for("business.logo", digest=logo.digest, ext=logo.format)


def register_template_helpers(app: Flask) -> None:
    """Make the filters available to every template."""
    app.jinja_env.filters.update(
        money=format_money,
        decimal_money=decimal_money,
        local_time=local_time,
        local_time_text=local_time_text,
        relative=relative_to_now,
        status_label=status_label,
        attempt_label=attempt_label,
        failure_words=describe_failure_reason,
        refund_failure_words=describe_refund_failure,
        currency_symbol=currency_symbol,
        failure_words_for_payer=describe_failure_to_payer,
        highlight=highlight,
    )
    app.jinja_env.globals.update(
        PaymentStatus=PaymentStatus, logo_url=logo_url, current_zone=current_zone
    )
