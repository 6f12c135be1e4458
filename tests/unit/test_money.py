"""Money as merchants type it, as it is stored (minor units) and as it is shown."""

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.money import (
    SUPPORTED_CURRENCIES,
    InvalidAmount,
    format_money,
    from_minor,
    parse_amount,
    to_minor,
)


@pytest.mark.parametrize(
    ("typed", "currency", "amount"),
    [
        ("12.50", "GBP", Decimal("12.50")),
        ("£12.50", "GBP", Decimal("12.50")),
        ("€3", "EUR", Decimal("3")),
        ("12,50", "GBP", Decimal("12.50")),
        ("1,250.00", "GBP", Decimal("1250.00")),
        ("1,250", "GBP", Decimal("1250")),
        ("  12.50  ", "GBP", Decimal("12.50")),
        ("1000000.00", "GBP", Decimal("1000000.00")),
    ],
)
def test_a_merchant_can_type_an_amount_the_way_people_write_it(typed, currency, amount):
    """Decimal points, decimal commas, thousands separators and the currency's symbol are read."""
    assert parse_amount(typed, currency) == amount


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("-5", "such as 12.50"),
        ("-0.01", "such as 12.50"),
        ("twelve", "such as 12.50"),
        ("12.50 GBP", "such as 12.50"),
        ("1e5", "such as 12.50"),
        ("", "such as 12.50"),
        ("   ", "such as 12.50"),
        ("1.2.3", "such as 12.50"),
        ("12.505", "at most 2 digits after the point"),
        ("0.001", "at most 2 digits after the point"),
        ("1000000.01", "at most £1,000,000.00"),
        ("2,000,000", "at most £1,000,000.00"),
    ],
)
def test_an_amount_that_cannot_be_collected_is_rejected_with_a_reason(typed, message):
    """Zero, negatives, words, exponents, extra decimals and huge amounts are refused."""
    with pytest.raises(InvalidAmount, match=re.escape(message)):
        parse_amount(typed, "GBP")


def test_the_symbol_of_another_currency_is_not_accepted():
    """A pound sign on a euro payment is a mistake, not an amount in euros."""
    with pytest.raises(InvalidAmount):
        parse_amount("£12.50", "EUR")


def test_the_largest_amount_is_shown_in_the_chosen_currency():
    """The message names the limit in the currency the merchant picked."""
    with pytest.raises(InvalidAmount, match=re.escape("€1,000,000.00")):
        parse_amount("1000000.01", "EUR")


@pytest.mark.parametrize("typed", ["12,50.00", "1,2,3"])
def test_a_misplaced_thousands_separator_is_rejected_rather_than_read_as_a_bigger_amount(typed):
    """A comma that is not a thousands separator must not vanish and multiply the amount."""
    with pytest.raises(InvalidAmount):
        parse_amount(typed, "GBP")


def test_an_unsupported_currency_is_refused():
    """Only the currencies the product offers can be parsed."""
    with pytest.raises(ValueError, match="Unsupported currency"):
        parse_amount("12.50", "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.50"), "GBP", 1250),
        (Decimal("12.5"), "GBP", 1250),
        (Decimal("0.01"), "EUR", 1),
        (Decimal("3"), "EUR", 300),
        (Decimal("1000000.00"), "GBP", 100_000_000),
    ],
)
def test_amounts_are_stored_as_whole_minor_units_and_read_back(amount, currency, minor):
    """Pence and cents go into storage and come back as the same amount."""
    assert to_minor(amount, currency) == minor
    assert from_minor(minor, currency) == amount


def test_an_amount_finer_than_a_penny_cannot_be_stored():
    """Rounding money silently is never allowed."""
    with pytest.raises(ValueError, match="more precision"):
        to_minor(Decimal("12.505"), "GBP")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (1250, "GBP", "£12.50"),
        (1, "GBP", "£0.01"),
        (100_000, "EUR", "€1,000.00"),
        (300, "EUR", "€3.00"),
    ],
)
def test_amounts_are_shown_with_symbol_and_separators(minor, currency, shown):
    """The dashboard shows money the way a UK merchant reads it."""
    assert format_money(minor, currency) == shown


@settings(max_examples=200, deadline=None)
@given(
    minor=st.integers(min_value=1, max_value=100_000_000),
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
)
def test_any_stored_amount_typed_back_in_is_the_same_amount(minor, currency):
    """What the app shows as a plain amount parses back to the very same minor units."""
    typed = str(from_minor(minor, currency))

    assert to_minor(parse_amount(typed, currency), currency) == minor
