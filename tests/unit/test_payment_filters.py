"""What a merchant asks the payments list to show, read strictly from the URL and written back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.payments import RefundSummary, StatusGroup
from dashboard.domain.timezones import local_today, zone_named
from dashboard.web.payment_filters import FilterError, PaymentFilters, parse_filters

TODAY = date(2026, 11, 20)
ZONE = zone_named("Europe/London")


def problems_with(args: dict[str, str]) -> dict[str, str]:
    """Return the messages parse_filters gives for ``args``; fail if it accepts them."""
    with pytest.raises(FilterError) as caught:
        parse_filters(args, TODAY, ZONE)
    return caught.value.messages


# Status


@pytest.mark.parametrize(
    ("typed", "group"),
    [
        ("pending", StatusGroup.PENDING),
        ("completed", StatusGroup.COMPLETED),
        ("failed", StatusGroup.FAILED),
        ("ended", StatusGroup.ENDED),
        ("Pending", StatusGroup.PENDING),
        ("COMPLETED", StatusGroup.COMPLETED),
        (" ended ", StatusGroup.ENDED),
    ],
)
def test_a_merchant_can_narrow_the_list_to_one_status_group(typed, group):
    """Each group is recognised whatever its case."""
    assert parse_filters({"status": typed}, TODAY, ZONE).group is group


@pytest.mark.parametrize("typed", ["all", "ALL", "", "  "])
def test_all_statuses_means_no_status_filter(typed):
    """'all' (or nothing) shows every status and does not count as a filter."""
    filters = parse_filters({"status": typed}, TODAY, ZONE)
    assert filters.group is None
    assert not filters.is_filtered


@pytest.mark.parametrize("typed", ["paid", "awaiting_payment", "pend", "<script>"])
def test_an_unknown_status_is_refused_with_a_message_about_status(typed):
    """A status the list does not offer is a clear 'status' problem, not a silent 'all'."""
    messages = problems_with({"status": typed})
    assert set(messages) == {"status"}
    assert "Unknown status" in messages["status"]


# Dates


@pytest.mark.parametrize(
    ("preset", "first_day"),
    [
        ("today", TODAY),
        ("7d", TODAY - timedelta(days=6)),
        ("30d", TODAY - timedelta(days=29)),
        ("90d", TODAY - timedelta(days=89)),
        ("7D", TODAY - timedelta(days=6)),
    ],
)
def test_a_date_preset_covers_whole_local_days_ending_today(preset, first_day):
    """'7 days' is today and the six days before it, both ends inclusive."""
    filters = parse_filters({"range": preset}, TODAY, ZONE)
    assert filters.date_range == preset.lower()
    assert (filters.date_from, filters.date_to) == (first_day, TODAY)
    assert filters.is_filtered


def test_a_preset_moves_with_the_day_it_is_read_on():
    """A bookmarked '7d' shows the last seven days of the day it is opened, not of when saved."""
    tomorrow = TODAY + timedelta(days=1)
    filters = parse_filters({"range": "7d"}, tomorrow, ZONE)
    assert (filters.date_from, filters.date_to) == (TODAY - timedelta(days=5), tomorrow)


def test_an_unknown_date_preset_is_refused():
    """'yesterday' is not offered, so it is a 'range' problem."""
    assert set(problems_with({"range": "yesterday"})) == {"range"}


def test_a_custom_range_keeps_both_days():
    """From and to are read as ISO days and kept as given."""
    filters = parse_filters(
        {"range": "custom", "from": "2026-11-01", "to": "2026-11-10"}, TODAY, ZONE
    )
    assert filters.date_range == "custom"
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 1), date(2026, 11, 10))


def test_a_range_with_only_a_start_day_runs_to_today():
    """'From 1 November' means from then until today."""
    filters = parse_filters({"from": "2026-11-01"}, TODAY, ZONE)
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 1), TODAY)


def test_a_range_with_only_an_end_day_shows_everything_up_to_that_day():
    """'Until 1 November' is accepted and ends on that day.

    The missing start defaults to 2000-01-01, which is more than ten years before any end day
    after January 2010, so the ten-year limit refuses every 'only to' range.
    """
    filters = parse_filters({"to": "2026-11-01"}, TODAY, ZONE)
    assert filters.date_to == date(2026, 11, 1)
    assert filters.date_from is not None
    assert filters.date_from <= date(2026, 11, 1)


def test_a_one_day_custom_range_is_allowed():
    """From and to on the same day shows that one day."""
    filters = parse_filters({"from": "2026-11-05", "to": "2026-11-05"}, TODAY, ZONE)
    assert filters.date_from == filters.date_to == date(2026, 11, 5)


@pytest.mark.parametrize("typed", ["2026-13-01", "2026-02-30", "22/11/2026", "abc", "2026-1-1"])
@pytest.mark.parametrize("field", ["from", "to"])
def test_a_day_that_is_not_an_iso_date_is_refused(field, typed):
    """Impossible or ambiguous days are refused with an example, never guessed at."""
    messages = problems_with({field: typed})
    assert field in messages
    assert "2026-11-22" in messages[field]


@pytest.mark.parametrize("typed", ["1999-12-31", "1900-01-02", "3000-01-01", "9999-12-31"])
@pytest.mark.parametrize("field", ["from", "to"])
def test_a_day_before_2000_or_after_2999_is_refused_saying_which_days_are(field, typed):
    """Nothing is stored before 2000 (zones are checked whole hours from then), and the day after
    9999-12-31 does not exist: such a day is a message, never a 500."""
    messages = problems_with({field: typed})
    assert messages[field].endswith("must be from 1 Jan 2000 to 31 Dec 2999.")


def test_a_range_that_ends_before_it_starts_is_refused():
    """From after to is a problem reported on 'to'."""
    messages = problems_with({"from": "2026-11-10", "to": "2026-11-01"})
    assert messages == {"to": "The end date is before the start date."}


def test_a_range_of_more_than_ten_years_is_refused():
    """A range wider than ten years would be a full-table read, so it is refused."""
    messages = problems_with({"from": "2010-01-01", "to": "2026-11-20"})
    assert "ten years" in messages["from"]


def test_a_range_of_exactly_ten_years_is_allowed():
    """Ten calendar years (with their leap days) fit within the limit."""
    filters = parse_filters({"from": "2016-11-20", "to": "2026-11-20"}, TODAY, ZONE)
    assert filters.date_from == date(2016, 11, 20)


# Currency and amounts


@pytest.mark.parametrize(("typed", "code"), [("gbp", "GBP"), ("EUR", "EUR"), (" eur ", "EUR")])
def test_a_currency_is_read_whatever_its_case(typed, code):
    """The currency code is upper-cased."""
    assert parse_filters({"currency": typed}, TODAY, ZONE).currency == code


def test_a_currency_the_product_does_not_offer_is_refused():
    """USD links cannot exist, so filtering on USD is a 'currency' problem."""
    messages = problems_with({"currency": "USD"})
    assert set(messages) == {"currency"}
    assert "USD" in messages["currency"]


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("12.50", Decimal("12.50")), ("£5", Decimal("5")), ("1,250.00", Decimal("1250.00"))],
)
def test_amount_bounds_are_read_as_people_type_them(typed, amount):
    """Bounds accept the same forms as the new-payment form."""
    filters = parse_filters({"min": typed, "max": typed}, TODAY, ZONE)
    assert filters.amount_min == filters.amount_max == amount
    assert filters.amount_min_minor == int(amount * 100)


@pytest.mark.parametrize("field", ["min", "max"])
@pytest.mark.parametrize("typed", ["abc", "12.505", "1e5"])
def test_an_amount_bound_that_is_not_an_amount_is_refused(field, typed):
    """A bound that is not an amount is reported on that bound."""
    assert field in problems_with({field: typed})


def test_a_minimum_above_the_maximum_is_refused():
    """'From 20 to 10' is reported on the 'to' amount."""
    messages = problems_with({"min": "20", "max": "10"})
    assert set(messages) == {"max"}
    assert "smaller" in messages["max"]


def test_equal_minimum_and_maximum_find_one_exact_amount():
    """From and to the same amount is allowed."""
    filters = parse_filters({"min": "10", "max": "10.00"}, TODAY, ZONE)
    assert filters.amount_min_minor == filters.amount_max_minor == 1000


# Refunds


@pytest.mark.parametrize(
    ("typed", "summaries"),
    [
        ("refunded", {RefundSummary.REFUNDED}),
        ("partly_refunded", {RefundSummary.PARTLY_REFUNDED}),
        (" Refund_Pending ", {RefundSummary.PENDING}),
        ("any", set(RefundSummary)),  # every payment a refund was asked for, failed ones too
    ],
)
def test_the_refunds_filter_asks_for_the_summaries_it_names(typed, summaries):
    """Each Refunds choice becomes the refund summaries the lookup lists, and narrows the list."""
    filters = parse_filters({"refund": typed}, TODAY, ZONE)
    assert filters.query.refund_summaries == summaries
    assert filters.is_filtered
    assert filters.folded_count == 1


@pytest.mark.parametrize("typed", ["", "all", " ALL "])
def test_no_refunds_choice_shows_payments_with_refunds_or_none(typed):
    """'All payments' is no refund filter at all."""
    filters = parse_filters({"refund": typed}, TODAY, ZONE)
    assert filters.refund is None
    assert filters.query.refund_summaries == frozenset()
    assert not filters.is_filtered


@pytest.mark.parametrize("typed", ["refund_failed", "yes", "executed", "<b>"])
def test_a_refunds_choice_the_list_does_not_offer_is_refused(typed):
    """Only the four choices of the form are read; anything else is a 'refund' problem."""
    messages = problems_with({"refund": typed})
    assert messages == {
        "refund": "Unknown refund filter: choose Any refund, Refunded, Partly refunded "
        "or Refund pending."
    }


def test_a_refunds_choice_is_written_back_as_its_value():
    """The URL keeps ``refund=partly_refunded``, beside the other filters."""
    filters = parse_filters({"refund": "Partly_Refunded", "currency": "gbp"}, TODAY, ZONE)
    assert filters.query_args() == {"refund": "partly_refunded", "currency": "GBP"}


# Search


def test_search_text_has_its_whitespace_collapsed():
    """Leading, trailing and repeated spaces (tabs, newlines) do not change the search."""
    filters = parse_filters({"q": "  Invoice \t  42\n "}, TODAY, ZONE)
    assert filters.search == "Invoice 42"
    assert filters.is_filtered


def test_a_search_of_two_hundred_characters_is_allowed():
    """The limit is 200 characters, inclusive."""
    assert len(parse_filters({"q": "a" * 200}, TODAY, ZONE).search) == 200


def test_a_search_of_two_thousand_characters_is_refused():
    """An over-long search is a 'q' problem naming the limit."""
    messages = problems_with({"q": "x" * 2000})
    assert set(messages) == {"q"}
    assert "200" in messages["q"]


@pytest.mark.parametrize(
    "typed", ["Chloé Dupont", "<script>alert(1)</script>", "日本語 ✓", 'O\'Brien & "Sons"']
)
def test_unicode_and_html_in_a_search_survive_as_plain_text(typed):
    """The search is kept exactly as typed; escaping is the template's job, not the parser's."""
    assert parse_filters({"q": typed}, TODAY, ZONE).search == typed


# Several problems at once


def test_every_problem_in_the_url_is_reported_at_once():
    """The merchant sees each mistake next to its field, not one per reload."""
    messages = problems_with(
        {
            "status": "paid",
            "range": "custom",
            "from": "22/11/2026",
            "currency": "USD",
            "min": "abc",
            "q": "x" * 201,
        }
    )
    assert set(messages) == {"status", "from", "currency", "min", "q"}
    assert all(messages.values())


def test_a_filter_error_reads_as_all_its_messages():
    """str(FilterError) joins the messages, for logs."""
    error = FilterError({"status": "Bad status.", "currency": "Bad currency."})
    assert str(error) == "Bad status.; Bad currency."
    assert error.messages == {"status": "Bad status.", "currency": "Bad currency."}


# No filters


def test_an_empty_query_string_shows_everything():
    """No arguments: no filters, nothing narrowed."""
    filters = parse_filters({}, TODAY, ZONE)
    assert filters == PaymentFilters()
    assert not filters.is_filtered
    assert filters.query_args() == {}
    assert filters.descriptions() == []


# Writing the filters back to the URL

EVERY_FILTER = {
    "status": "failed",
    "range": "custom",
    "from": "2026-10-01",
    "to": "2026-11-15",
    "currency": "EUR",
    "min": "5",
    "max": "99.99",
    "refund": "partly_refunded",
    "q": "Invoice 42",
}


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"status": "pending"},
        {"range": "30d"},
        {"from": "2026-11-01"},
        {"range": "custom", "from": "2026-11-01", "to": "2026-11-10"},
        {"currency": "gbp", "min": "£5"},
        {"max": "1,250.00"},
        {"q": "  Chloé   <b>42</b> "},
        {"refund": "any"},
        {"refund": "Refund_Pending", "range": "7d"},
        EVERY_FILTER,
    ],
)
def test_the_url_written_for_some_filters_shows_the_same_filters(args):
    """Reload, back and bookmarks restore exactly what was shown."""
    filters = parse_filters(args, TODAY, ZONE)
    assert parse_filters(filters.query_args(), TODAY, ZONE) == filters


@settings(max_examples=100, deadline=None)
@given(
    status=st.sampled_from(["", "all", "pending", "Completed", "FAILED", "ended"]),
    preset=st.sampled_from(["", "all", "today", "7d", "30d", "90d"]),
    currency=st.sampled_from(["", "gbp", "EUR"]),
    low=st.one_of(st.none(), st.integers(min_value=1, max_value=100_000_000)),
    span=st.integers(min_value=0, max_value=100_000_000),
    search=st.text(max_size=60),
    refund=st.sampled_from(["", "all", "any", "refunded", "partly_refunded", "refund_pending"]),
)
def test_any_accepted_filters_round_trip_through_their_url(
    status, preset, currency, low, span, search, refund
):
    """Whatever combination was accepted, its URL parses back to the same filters."""
    args = {"status": status, "range": preset, "currency": currency, "q": search, "refund": refund}
    if low is not None:
        high = min(low + span, 100_000_000)
        args["min"] = f"{low // 100}.{low % 100:02d}"
        args["max"] = f"{high // 100}.{high % 100:02d}"
    filters = parse_filters(args, TODAY, ZONE)
    assert parse_filters(filters.query_args(), TODAY, ZONE) == filters


def test_removing_one_filter_from_the_url_keeps_the_others():
    """query_args(status=None) drops the status and nothing else."""
    filters = parse_filters(EVERY_FILTER, TODAY, ZONE)
    without_status = filters.query_args(status=None)
    assert "status" not in without_status
    assert without_status == {k: v for k, v in filters.query_args().items() if k != "status"}
    assert parse_filters(without_status, TODAY, ZONE).group is None


def test_a_preset_is_written_as_its_name_not_its_days():
    """A '7d' bookmark keeps meaning 'the last seven days'."""
    assert parse_filters({"range": "7d"}, TODAY, ZONE).query_args() == {"range": "7d"}


# Fingerprints bind a page cursor to one list


def test_equal_filters_have_equal_fingerprints():
    """The same URL read twice gives the same fingerprint, so a cursor keeps working."""
    first = parse_filters(EVERY_FILTER, TODAY, ZONE)
    second = parse_filters(dict(EVERY_FILTER), TODAY, ZONE)
    assert first.fingerprint() == second.fingerprint()


def test_the_same_amount_written_differently_has_the_same_fingerprint():
    """'5' and '5.00' are the same bound."""
    assert (
        parse_filters({"min": "5"}, TODAY, ZONE).fingerprint()
        == parse_filters({"min": "5.00"}, TODAY, ZONE).fingerprint()
    )


@pytest.mark.parametrize(
    "change",
    [
        {"status": "pending"},
        {"range": "custom", "from": "2026-10-02", "to": "2026-11-15"},
        {"range": "custom", "from": "2026-10-01", "to": "2026-11-14"},
        {"currency": "GBP"},
        {"min": "5.01"},
        {"max": "99.98"},
        {"refund": "any"},
        {"refund": ""},
        {"q": "Invoice 43"},
    ],
)
def test_changing_any_one_filter_changes_the_fingerprint(change):
    """A cursor from one list never continues another."""
    base = parse_filters(EVERY_FILTER, TODAY, ZONE)
    changed = parse_filters({**EVERY_FILTER, **change}, TODAY, ZONE)
    assert changed != base
    assert changed.fingerprint() != base.fingerprint()


def test_no_filters_and_some_filters_have_different_fingerprints():
    """The unfiltered list has its own fingerprint."""
    assert PaymentFilters().fingerprint() != parse_filters({"q": "a"}, TODAY, ZONE).fingerprint()


# Describing the active filters


def test_each_active_filter_is_named_in_words():
    """The list says what is applied: status, dates, currency, amounts and search."""
    texts = [text for text, _ in parse_filters(EVERY_FILTER, TODAY, ZONE).descriptions()]
    assert texts == [
        "Status: Failed",
        "Created: 1 Oct 2026 – 15 Nov 2026",
        "Currency: EUR",
        "Amount: 5 – 99.99",
        "Refunds: Partly refunded",
        "Search: “Invoice 42”",
    ]


def test_a_preset_is_described_by_its_name_and_its_days():
    """'7 days' also shows which days that is."""
    [(text, _)] = parse_filters({"range": "7d"}, TODAY, ZONE).descriptions()
    assert text == "Created: 7 days (14 Nov 2026 – 20 Nov 2026)"


def test_today_is_described_as_one_day():
    """A one-day range shows that day once."""
    [(text, _)] = parse_filters({"range": "today"}, TODAY, ZONE).descriptions()
    assert text == "Created: Today (20 Nov 2026)"


@pytest.mark.parametrize(
    ("args", "text"),
    [({"min": "5"}, "Amount: 5 – any"), ({"max": "7.50"}, "Amount: 0 – 7.50")],
)
def test_an_open_ended_amount_range_is_described(args, text):
    """A missing bound reads as 0 or 'any'."""
    [(described, _)] = parse_filters(args, TODAY, ZONE).descriptions()
    assert described == text


def test_each_filters_removal_link_drops_just_that_filter():
    """Clicking the × on one filter keeps all the others."""
    filters = parse_filters(EVERY_FILTER, TODAY, ZONE)
    everything = filters.query_args()
    removed_by_each = {
        "Status": {"status"},
        "Created": {"range", "from", "to"},
        "Currency": {"currency"},
        "Amount": {"min", "max"},
        "Refunds": {"refund"},
        "Search": {"q"},
    }
    descriptions = filters.descriptions()
    assert len(descriptions) == len(removed_by_each)
    for text, removal_args in descriptions:
        dropped = removed_by_each[text.split(":")[0]]
        assert removal_args == {k: v for k, v in everything.items() if k not in dropped}
        remaining = parse_filters(removal_args, TODAY, ZONE)
        assert len(remaining.descriptions()) == len(descriptions) - 1


# Local days become UTC instants


def test_a_local_day_is_queried_as_the_utc_instants_it_covers():
    """In Paris (UTC+2 in summer) 2 June runs from 1 June 22:00 UTC to 2 June 22:00 UTC."""
    paris = zone_named("Europe/Paris")
    query = parse_filters({"from": "2026-06-02", "to": "2026-06-02"}, TODAY, paris).query
    assert query.created_from == datetime(2026, 6, 1, 22, tzinfo=UTC)
    assert query.created_before == datetime(2026, 6, 2, 22, tzinfo=UTC)
    assert query.created_within(datetime(2026, 6, 1, 23, 30, tzinfo=UTC))
    assert not query.created_within(datetime(2026, 6, 2, 22, 0, tzinfo=UTC))


def test_a_preset_ends_on_the_merchants_today():
    """'Today' at 23:30 UTC on 1 June is 2 June in Paris: the query covers Paris's 2 June."""
    paris = zone_named("Europe/Paris")
    today = local_today(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), paris)
    query = parse_filters({"range": "today"}, today, paris).query
    assert (query.created_from, query.created_before) == (
        datetime(2026, 6, 1, 22, tzinfo=UTC),
        datetime(2026, 6, 2, 22, tzinfo=UTC),
    )


def test_the_day_the_clocks_go_back_is_queried_as_25_hours():
    """25 October 2026 in London is 25 hours long, and the query spans all of them."""
    query = parse_filters({"from": "2026-10-25", "to": "2026-10-25"}, TODAY, ZONE).query
    assert query.created_before - query.created_from == timedelta(hours=25)


def test_only_an_end_day_leaves_the_start_open():
    """'Until 1 November' reads no lower bound, and ends at the merchant's midnight after it."""
    query = parse_filters({"to": "2026-11-01"}, TODAY, ZONE).query
    assert query.created_from is None
    assert query.created_before == datetime(2026, 11, 2, tzinfo=UTC)


def test_the_same_days_in_another_zone_continue_no_cursor_of_the_first():
    """A cursor is bound to the instants listed, so a change of zone starts the list again."""
    args = {"from": "2026-06-02", "to": "2026-06-02"}
    london = parse_filters(args, TODAY, ZONE).query.fingerprint()
    assert parse_filters(args, TODAY, zone_named("Europe/Paris")).query.fingerprint() != london
