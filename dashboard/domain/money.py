"""Money at the edges of the app: parsing what people type, minor units in storage, display.

Amounts are stored as integer minor units plus an ISO 4217 currency code. Inside the app they are
``Decimal``; a float never touches money. Amounts in different currencies are never added up.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_DOWN, Decimal

from babel.numbers import format_compact_currency, format_currency, get_currency_symbol

# The currencies a payment link can be made in, with the number of minor-unit digits of each.
# TrueLayer merchant accounts are per currency; GBP and EUR are the ones this product offers.
CURRENCY_DIGITS: dict[str, int] = {"GBP": 2, "EUR": 2}
SUPPORTED_CURRENCIES: tuple[str, ...] = tuple(CURRENCY_DIGITS)
MAX_AMOUNT = Decimal("1000000.00")
DISPLAY_LOCALE = "en_GB"

# What an amount may look like once spaces and the currency symbol are gone. ASCII digits only.
_PLAIN = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
_DECIMAL_COMMA = re.compile(r"[0-9]+,[0-9]{1,2}")
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")


def currency_symbol(currency: str) -> str:
    """Return the symbol the merchant reads beside an amount in the currency (``£``, ``€``)."""
    return get_currency_symbol(currency, locale=DISPLAY_LOCALE)


class InvalidAmount(ValueError):
    """Raised when text cannot be read as an amount in the given currency."""


def parse_amount(text: str, currency: str) -> Decimal:
    """Return the amount a person typed, as a Decimal, or raise InvalidAmount saying why.

    Accepts ``12.50``, ``12,50`` (a comma as the decimal mark), ``1,250.00``, and a leading
    currency symbol of the chosen currency (``£12.50``).
    """
    digits = minor_digits(currency)
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    symbol = currency_symbol(currency)
    if cleaned.startswith(symbol):
        cleaned = cleaned[len(symbol) :]
    if _DECIMAL_COMMA.fullmatch(cleaned):
        cleaned = cleaned.replace(",", ".")  # "12,50"
    elif _GROUPED.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")  # "1,250.00": commas only between groups of three
    elif not _PLAIN.fullmatch(cleaned):
        # Anything else ("12,50.00", "1,2,3", "1e5") is refused rather than guessed at.
        raise InvalidAmount("Enter an amount such as 12.50.")
    amount = Decimal(cleaned)
    if amount > MAX_AMOUNT:
        raise InvalidAmount(
            f"The amount can be at most {format_money(to_minor(MAX_AMOUNT, currency), currency)}."
        )
    if amount <= 0:
        raise InvalidAmount("The amount must be more than zero.")
    if amount != amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN):
        raise InvalidAmount(f"{currency} amounts have at most {digits} digits after the point.")
    return amount


def minor_digits(currency: str) -> int:
    """Return how many minor-unit digits the currency has; raise ValueError for unknown codes."""
    try:
        return CURRENCY_DIGITS[currency]
    except KeyError:
        raise ValueError(f"Unsupported currency: {currency!r}") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """Return the amount in integer minor units (pence, cents); it must already be exact."""
    scaled = amount.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more precision than {currency} allows")
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """Return the Decimal amount for integer minor units."""
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


@functools.lru_cache(maxsize=4096)
def format_money(amount_minor: int, currency: str, locale: str = DISPLAY_LOCALE) -> str:
    """Return the amount formatted for people, e.g. ``£12.50`` or ``€1,000.00``.

    Cached: Babel re-reads its locale data on every call, a quarter of a list page's rendering,
    and a list shows the same few amounts again and again.
    """
    return format_currency(from_minor(amount_minor, currency), currency, locale=locale)


def axis_money(amount_minor: int | Decimal, currency: str, locale: str = DISPLAY_LOCALE) -> str:
    """Return a short label for a chart axis, e.g. ``£2.5K``."""
    return format_compact_currency(
        from_minor(int(amount_minor), currency), currency, locale=locale, fraction_digits=1
    )
