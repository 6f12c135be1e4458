"""What a merchant typed in the search box: its readings, how matches are checked and shown."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from dashboard.domain.search import (
    SearchTerms,
    highlight,
    matches_all_words,
    parse_search,
)

# Words


def test_a_reference_and_a_number_are_two_words_and_the_number_drives_the_lookup():
    """'Invoice 42' looks up '42' (digits are the most selective) and checks 'invoice'."""
    terms = parse_search("Invoice 42")
    assert terms.words == ("invoice", "42")
    assert terms.driving_word == "42"
    assert terms.other_words == ("invoice",)
    assert terms.amount_minor is None
    assert terms.email is None


def test_without_digits_the_longest_word_drives_the_lookup():
    """'Chloé Dupont' looks up 'dupont', the longer (more selective) word."""
    terms = parse_search("Chloé Dupont")
    assert terms.driving_word == "dupont"
    assert terms.other_words == ("chloe",)


def test_nothing_to_look_up_when_there_are_no_words():
    """An empty search has no driving word and no readings at all."""
    terms = parse_search("   ")
    assert terms == SearchTerms(text="")
    assert terms.driving_word is None
    assert terms.other_words == ()


def test_a_few_letters_find_words_that_begin_with_them():
    """'inv' is a word prefix (for 'invoice'), not an amount or an id."""
    terms = parse_search("inv")
    assert terms.words == ("inv",)
    assert terms.driving_word == "inv"
    assert (terms.amount_minor, terms.id_prefix, terms.provider_id) == (None, None, None)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("Chloé", ("chloe",)),
        ("CHLOÉ", ("chloe",)),
        ("Chloe\u0301", ("chloe",)),  # the accent typed as a combining character
        ("Straße", ("strasse",)),
        ("Zoë O'Brien", ("zoe", "o", "brien")),
    ],
)
def test_accents_and_case_do_not_matter_in_a_search(typed, words):
    """Words are searched in the same normalised form they are indexed in."""
    assert parse_search(typed).words == words


def test_repeated_words_are_looked_up_once():
    """'42 42' is one word."""
    assert parse_search("Invoice 42 invoice").words == ("invoice", "42")


# Amounts


@pytest.mark.parametrize(
    ("typed", "minor", "currency"),
    [
        ("12.50", 1250, None),
        ("£12.50", 1250, "GBP"),
        ("12,50", 1250, None),
        ("€3", 300, "EUR"),
        ("1,250.00", 125000, None),
        ("12.50 EUR", 1250, "EUR"),
        ("5gbp", 500, "GBP"),
    ],
)
def test_an_amount_is_read_in_minor_units_and_is_not_a_word(typed, minor, currency):
    """'12.50' means the amount only; looking it up as words would match nothing useful."""
    terms = parse_search(typed)
    assert terms.amount_minor == minor
    assert terms.amount_currency == currency
    assert terms.words == ()


def test_a_bare_number_is_both_an_amount_and_a_word():
    """'42' finds £42.00 payments and 'Invoice 42'."""
    terms = parse_search("42")
    assert terms.amount_minor == 4200
    assert terms.amount_currency is None
    assert terms.words == ("42",)
    assert terms.driving_word == "42"


def test_zero_is_a_word_but_not_an_amount():
    """No payment is for 0.00, but '0' can begin a reference word."""
    terms = parse_search("0")
    assert terms.amount_minor is None
    assert terms.words == ("0",)


# Emails


@pytest.mark.parametrize("typed", ["Chloe@Example.COM", "chloe.dupont+shop@example.co.uk"])
def test_an_email_is_only_an_email(typed):
    """An email is looked up exactly, lower-cased, and never as words, an amount or an id."""
    terms = parse_search(typed)
    assert terms.email == typed.lower()
    assert terms.words == ()
    assert (terms.amount_minor, terms.id_prefix, terms.provider_id) == (None, None, None)


# Payment ids and provider ids


@pytest.mark.parametrize(
    "typed",
    ["01932c4e", "01932C4E", "01932c4e-7b1a", "01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f"],
)
def test_eight_or_more_hex_characters_begin_a_payment_id(typed):
    """A pasted payment id, or its first eight characters, is looked up as an id (lower-case)."""
    assert parse_search(typed).id_prefix == typed.lower()


def test_an_id_with_dashes_is_read_as_an_id_and_as_words():
    """Text like a UUID is looked up as an id; its words stay a second reading, because a
    reference may look the same (the finder skips the word check for id matches)."""
    terms = parse_search("01932c4e-7b1a-7c3d")
    assert terms.id_prefix == "01932c4e-7b1a-7c3d"
    assert terms.words == ("01932c4e", "7b1a", "7c3d")


@pytest.mark.parametrize("typed", ["01932c4", "abc", "01932c4g"])
def test_fewer_than_eight_hex_characters_are_not_an_id(typed):
    """Short or non-hex text would match too many ids to be useful."""
    assert parse_search(typed).id_prefix is None


@pytest.mark.parametrize(
    "typed", ["sbx-pay-0193c4e2-7b1a-7c3d-9e4f-0a1b2c3d4e5f", "sbx-link-3f9a1c2b4d5e6f70"]
)
def test_a_provider_id_is_looked_up_as_an_id(typed):
    """A provider's payment or link id pasted from its console finds its payment."""
    terms = parse_search(typed)
    assert terms.provider_id == typed
    assert terms.words[0] == "sbx"
    assert terms.amount_minor is None


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("INV-2026-001", ("inv", "2026", "001")),
        ("Order-42", ("order", "42")),
    ],
)
def test_a_reference_with_dashes_can_still_be_found_by_its_words(typed, words):
    """A merchant searching for the reference they typed ('INV-2026-001') finds that payment.

    References may contain '-' (the form's REFERENCE_PATTERN), but any text of 8+ characters
    with a dash reads as a provider id and loses its words, so the search finds nothing.
    """
    assert parse_search(typed).words == words


def test_a_number_is_never_a_provider_id():
    """'12345678' is a word (and not an amount, being over the maximum), not a provider id."""
    terms = parse_search("12345678")
    assert terms.provider_id is None
    assert terms.words == ("12345678",)


# Matching every word


def test_a_payment_matches_when_every_word_begins_one_of_its_words():
    """'inv 42' matches 'Invoice 42'; each search word is a prefix of some word."""
    assert matches_all_words(("inv", "42"), "Invoice 42", None)


def test_the_words_may_be_spread_over_the_reference_and_the_payer_name():
    """'invoice chloe' matches a reference 'Invoice 42' paid by 'Chloé Dupont'."""
    assert matches_all_words(("invoice", "chloe"), "Invoice 42", "Chloé Dupont")


@pytest.mark.parametrize(
    "words",
    [("inv", "43"), ("voice",), ("invoices",), ("chloe",)],
)
def test_a_payment_does_not_match_when_any_word_is_missing(words):
    """A word in the middle of another, a longer word, or a missing word: no match."""
    assert not matches_all_words(words, "Invoice 42", None)


def test_no_words_match_every_payment():
    """An amount or id search does not filter by words."""
    assert matches_all_words((), None, None)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_a_text_always_matches_its_own_words(text):
    """Whatever the reference, searching for its words finds it."""
    terms = parse_search(text)
    assert matches_all_words(terms.words, text)


# Highlighting


def test_highlight_escapes_html_in_a_reference():
    """A reference with markup is shown as text, with the match marked."""
    shown = highlight("<b>Inv</b> 42", parse_search("inv"))
    assert isinstance(shown, Markup)
    assert "<b>" not in shown
    assert "</b>" not in shown
    assert shown == "&lt;b&gt;<mark>Inv</mark>&lt;/b&gt; 42"


def test_highlight_marks_the_matching_start_of_each_word():
    """Only the typed prefix is marked, in the reference's own case."""
    shown = highlight("Invoice 42 for Invoices", parse_search("inv 42"))
    assert shown == "<mark>Inv</mark>oice <mark>42</mark> for <mark>Inv</mark>oices"


def test_highlight_marks_accented_words_found_without_the_accent():
    """'chlo' marks the start of 'Chloé' and keeps the accent."""
    assert highlight("Chloé", parse_search("chlo")) == "<mark>Chlo</mark>é"


def test_highlight_does_not_mark_a_match_in_the_middle_of_a_word():
    """'voice' is not the start of 'Invoice'."""
    assert highlight("Invoice", parse_search("voice")) == "Invoice"


@pytest.mark.parametrize("search", ["", "12.50", "chloe@example.com"])
def test_without_words_highlight_shows_the_plain_escaped_text(search):
    """Amount and email searches mark nothing but still escape."""
    shown = highlight("<i>Invoice</i> & co", parse_search(search))
    assert shown == "&lt;i&gt;Invoice&lt;/i&gt; &amp; co"
    assert "<mark>" not in shown


def test_highlight_without_a_search_escapes_the_text():
    """No search at all is the same as no words."""
    assert highlight("a < b", None) == "a &lt; b"


def test_highlight_of_nothing_is_empty():
    """A payment without a payer name shows nothing."""
    assert highlight(None, parse_search("inv")) == Markup("")
    assert highlight("", parse_search("inv")) == Markup("")


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60), search=st.text(max_size=20))
def test_highlight_never_lets_markup_through_and_keeps_the_text(text, search):
    """Removing the marks and unescaping gives back exactly the original text."""
    shown = str(highlight(text, parse_search(search)))
    unmarked = shown.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in unmarked
    assert html.unescape(unmarked) == text
