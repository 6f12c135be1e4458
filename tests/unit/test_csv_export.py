"""A merchant's CSV export: one line per payment, readable, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.payments import Payment, PaymentStatus
from dashboard.domain.refunds import Refund, RefundStatus
from dashboard.web.payments.export import (
    FORMULA_STARTS,
    HEADER,
    csv_lines,
    escape_cell,
    payment_row,
)

CREATED = datetime(2026, 11, 20, 12, 30, 5, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")  # UTC+00:00 in November


def a_payment(**changes) -> Payment:
    """Return a stored payment of £12.50 awaiting payment, with ``changes`` applied."""
    payment = Payment(
        user_id="alice@example.com",
        payment_id="01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f",
        amount_minor=1250,
        currency="GBP",
        reference="Invoice 42",
        status=PaymentStatus.AWAITING_PAYMENT,
        created_at=CREATED,
        updated_at=CREATED + timedelta(minutes=1),
        expires_at=CREATED + timedelta(days=7),
        provider="sandbox",
        payer_token="payer-token",
        payer_name="Chloé Dupont",
        payer_email="chloe@example.com",
        link_url="https://pay.example.com/links/abc",
    )
    return dataclasses.replace(payment, **changes)


def read_back(lines) -> list[list[str]]:
    """Return the rows a spreadsheet (or the csv module) reads from the exported text."""
    return list(csv.reader(io.StringIO("".join(lines))))


# Escaping cells


@pytest.mark.parametrize(
    "value",
    ["=SUM(A1:A9)", "+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", '=HYPERLINK("x")'],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_shown_as_text(value):
    """One leading quote makes the spreadsheet show the value instead of evaluating it."""
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "Invoice 42", "12.50", "chloe@example.com", "a=b", "O'Brien", " =padded"]
)
def test_an_ordinary_cell_is_exported_unchanged(value):
    """Only a formula-like first character is escaped; everything else is left alone."""
    assert escape_cell(value) == value


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_no_escaped_cell_starts_like_a_formula(value):
    """Whatever a merchant or payer typed, the cell never starts a formula, and only quotes
    are added to it."""
    escaped = escape_cell(value)
    assert not escaped.startswith(FORMULA_STARTS)
    assert escaped.replace("'", "") == value.replace("'", "")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        (";=1+1", ";'=1+1"),
        ("Dupont;@SUM(A1)", "Dupont;'@SUM(A1)"),
        ('Ltd;"=1+1', "Ltd;\"'=1+1"),
        ("Ann\n-2+3", "Ann\n'-2+3"),
        ("Dupont, Chloé", "Dupont, Chloé"),
    ],
)
def test_a_formula_after_a_separator_or_line_break_inside_a_value_is_shown_as_text(value, escaped):
    """A spreadsheet splitting on ';' starts a cell there, so that cell gets the quote too."""
    assert escape_cell(value) == escaped


# The lines of the export


def test_the_export_starts_with_the_header_then_one_line_per_payment():
    """Three payments: a header line and three lines, in the order given."""
    payments = [a_payment(reference=f"Invoice {n}") for n in (1, 2, 3)]
    lines = list(csv_lines(payments, LONDON))
    assert len(lines) == 4
    rows = read_back(lines)
    assert rows[0] == list(HEADER)
    assert [row[HEADER.index("reference")] for row in rows[1:]] == [
        "Invoice 1",
        "Invoice 2",
        "Invoice 3",
    ]


def test_an_export_with_no_payments_is_just_the_header():
    """An empty list still gives a file a spreadsheet can open with named columns."""
    assert read_back(csv_lines([], LONDON)) == [list(HEADER)]


def test_each_payment_line_holds_its_details_in_the_header_order():
    """Id, ISO times, reference, decimal amount and currency, status, payer and link."""
    [_, row] = read_back(csv_lines([a_payment()], LONDON))
    assert dict(zip(HEADER, row, strict=True)) == {
        "payment_id": "01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f",
        "created_at": "2026-11-20T12:30:05+00:00",
        "reference": "Invoice 42",
        "amount": "12.50",
        "currency": "GBP",
        "status": "awaiting_payment",
        "payer_name": "Chloé Dupont",
        "payer_email": "chloe@example.com",
        "expires_at": "2026-11-27T12:30:05+00:00",
        "updated_at": "2026-11-20T12:31:05+00:00",
        "link_url": "https://pay.example.com/links/abc",
        "created_date": "2026-11-20",
        "created_time": "12:30:05",
        "refunded_amount": "0.00",
        "refund_status": "",
    }


def test_the_refund_columns_come_after_every_earlier_column():
    """Tools that read the earlier columns by position keep reading the same ones."""
    assert HEADER[:13] == (
        "payment_id", "created_at", "reference", "amount", "currency", "status", "payer_name",
        "payer_email", "expires_at", "updated_at", "link_url", "created_date", "created_time",
    )  # fmt: skip
    assert HEADER[13:] == ("refunded_amount", "refund_status")


@pytest.mark.parametrize(
    ("refunds", "refunded_amount", "refund_status"),
    [
        ([(1250, RefundStatus.EXECUTED)], "12.50", "refunded"),
        ([(250, RefundStatus.EXECUTED), (500, RefundStatus.PENDING)], "2.50", "partly_refunded"),
        ([(500, RefundStatus.AUTHORIZED)], "0.00", "refund_pending"),
        ([(1250, RefundStatus.FAILED)], "0.00", "refund_failed"),  # returned: nothing given back
    ],
)
def test_a_payments_refunds_are_exported_as_what_went_back_and_its_refund_summary(
    refunds, refunded_amount, refund_status
):
    """The executed refunds' total as a decimal like the amount, and the summary's value."""
    payment = a_payment(status=PaymentStatus.COMPLETED)
    for amount_minor, status in refunds:
        refund = Refund(f"r-{len(payment.refunds)}", amount_minor, status, CREATED, CREATED)
        payment = payment.with_refund(refund, CREATED)
    [_, row] = read_back(csv_lines([payment], LONDON))
    cells = dict(zip(HEADER, row, strict=True))
    assert (cells["refunded_amount"], cells["refund_status"]) == (refunded_amount, refund_status)


def test_times_are_in_the_merchants_zone_with_their_offset_and_as_spreadsheet_cells():
    """23:30 UTC on 1 June is 01:30 on 2 June in Paris: the ISO time says so with +02:00, and
    the date and time columns give the Paris date and clock time, which spreadsheets parse."""
    created = datetime(2026, 6, 1, 23, 30, 9, tzinfo=UTC)
    payment = a_payment(created_at=created, updated_at=created, expires_at=created)
    [_, row] = read_back(csv_lines([payment], ZoneInfo("Europe/Paris")))
    cells = dict(zip(HEADER, row, strict=True))
    assert cells["created_at"] == "2026-06-02T01:30:09+02:00"
    assert cells["expires_at"] == cells["updated_at"] == "2026-06-02T01:30:09+02:00"
    assert datetime.fromisoformat(cells["created_at"]) == created  # the same instant
    assert (cells["created_date"], cells["created_time"]) == ("2026-06-02", "01:30:09")


@pytest.mark.parametrize(
    ("amount_minor", "currency", "shown"),
    [
        (1250, "GBP", "12.50"),
        (1200, "EUR", "12.00"),
        (5, "GBP", "0.05"),
        (100_000_000, "EUR", "1000000.00"),
    ],
)
def test_amounts_are_exported_as_decimals_with_their_currency(amount_minor, currency, shown):
    """Minor units become a plain decimal (no symbol, no grouping) beside the currency code."""
    row = payment_row(a_payment(amount_minor=amount_minor, currency=currency), LONDON)
    assert row[HEADER.index("amount")] == shown
    assert row[HEADER.index("currency")] == currency


def test_missing_payer_details_and_link_are_empty_cells():
    """A link made without a payer, not yet created at the provider, exports blanks, not 'None'."""
    row = payment_row(a_payment(payer_name=None, payer_email=None, link_url=None), LONDON)
    for column in ("payer_name", "payer_email", "link_url"):
        assert row[HEADER.index(column)] == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [("reference", '=HYPERLINK("x")'), ("payer_name", "+cmd"), ("payer_email", "@evil")],
)
def test_a_formula_typed_by_a_merchant_or_payer_is_escaped_in_the_file(field, value):
    """Parsed back as CSV, the cell starts with a quote, so the spreadsheet shows it as text."""
    [_, row] = read_back(csv_lines([a_payment(**{field: value})], LONDON))
    assert row[HEADER.index(field)] == "'" + value


def read_back_split_on(separator: str, lines) -> list[list[str]]:
    """Return the rows a spreadsheet set to ``separator`` (',' or ';' by locale) reads."""
    return list(csv.reader(io.StringIO("".join(lines), newline=""), delimiter=separator))


# Payer names and references built to run as a formula in a spreadsheet whose separator is ';'
# (most of Europe) or ','. Names with control characters are refused since, yet may be stored.
HOSTILE_TEXT = [
    ";=1+1",
    ";+cmd|' /C calc'!A0",
    ";-2+3",
    ";@SUM(A1:A9)",
    ";\t=1+1",
    ";\r=1+1",
    'Ltd;"=1+1',
    "Ltd,=1+1",
    "Ann\n=1+1",
    "Ann\r\n@SUM(A1)",
    '=HYPERLINK("http://evil.example")',
    "\t=1+1",
]


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_no_cell_starts_a_formula_whichever_separator_the_spreadsheet_splits_on(separator, hostile):
    """A payer name such as ';=1+1' is one harmless cell with ',' and with ';' as separator."""
    payment = a_payment(payer_name=hostile, reference=hostile, payer_email=hostile + "@x.io")

    rows = read_back_split_on(separator, csv_lines([payment, a_payment()], LONDON))

    cells = [cell for row in rows for cell in row]
    assert cells, "the file has cells"
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list(",;\"'=+-@\t\r\n aZ1")), max_size=20),
    st.sampled_from([",", ";"]),
)
def test_no_typed_text_gives_a_formula_cell_with_either_separator(payer_name, separator):
    """Any mix of separators, quotes, line breaks and formula characters stays harmless."""
    rows = read_back_split_on(separator, csv_lines([a_payment(payer_name=payer_name)], LONDON))
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


def test_every_cell_is_quoted():
    """Quoting every cell keeps a ';' or line break inside a name within its cell."""
    [header, line] = list(csv_lines([a_payment(payer_name="Dupont; Chloé")], LONDON))
    assert header.startswith('"payment_id","created_at",')
    assert line.startswith('"01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f","2026-11-20T12:30:05+00:00",')
    assert '"Dupont; Chloé"' in line


def test_commas_quotes_and_newlines_stay_inside_their_cell():
    """The csv module quotes awkward values; each still reads back as one cell."""
    name = 'Dupont, "Chloé"\nLtd'
    [_, row] = read_back(csv_lines([a_payment(payer_name=name)], LONDON))
    assert len(row) == len(HEADER)
    assert row[HEADER.index("payer_name")] == name


def test_the_export_streams_without_reading_every_payment_first():
    """Lines are produced as payments arrive, so a huge export never sits in memory whole."""

    def payments_then_failure() -> Iterator[Payment]:
        yield a_payment(reference="First")
        raise RuntimeError("the store went away after the first page")

    lines = csv_lines(payments_then_failure(), LONDON)
    assert read_back([next(lines)]) == [list(HEADER)]
    assert read_back([next(lines)])[0][HEADER.index("reference")] == "First"
    with pytest.raises(RuntimeError, match="went away"):
        next(lines)


def test_nothing_is_read_until_the_first_line_is_asked_for():
    """Creating the export does not touch the payments at all."""
    touched = []

    def payments() -> Iterator[Payment]:
        touched.append(True)
        yield a_payment()

    lines = csv_lines(payments(), LONDON)
    assert touched == []
    next(lines)  # the header needs no payment
    assert touched == []
    next(lines)
    assert touched == [True]
