"""The PaymentIndex items written beside each payment: search terms and per-hour rollup counters."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.core.words import MAX_WORD_LENGTH, normalise_word, words_of
from dashboard.domain.payments import (
    PAYER_NAME_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    AttemptStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
)
from dashboard.store.changeset import increment_update
from dashboard.store.index_items import (
    MAX_WORDS_PER_PAYMENT,
    amount_prefix,
    counts_by_status,
    email_prefix,
    hour_of,
    hour_rollup_key,
    rollup_deltas,
    rollup_increments,
    rollup_keys,
    search_items,
    searchable_words,
    word_prefix,
)

CREATED = datetime(2026, 11, 20, 23, 59, 30, tzinfo=UTC)
CREATED_AT = "2026-11-20T23:59:30.000000Z"
PAYMENT_ID = "01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f"
SUFFIX = f"{CREATED_AT}#{PAYMENT_ID}"


def a_payment(**changes) -> Payment:
    """Return a new £12.50 payment link awaiting payment, with ``changes`` applied."""
    payment = Payment(
        user_id="alice@example.com",
        payment_id=PAYMENT_ID,
        amount_minor=1250,
        currency="GBP",
        reference="Invoice 42",
        status=PaymentStatus.AWAITING_PAYMENT,
        created_at=CREATED,
        updated_at=CREATED,
        expires_at=CREATED + timedelta(days=7),
        provider="sandbox",
        payer_token="payer-token",
        payer_name="Chloé Dupont",
        payer_email="Chloe@Example.com",
    )
    return dataclasses.replace(payment, **changes)


def an_attempt(provider_payment_id: str, status: AttemptStatus) -> PaymentAttempt:
    """Return one payer attempt in ``status``."""
    return PaymentAttempt(provider_payment_id, status, CREATED, CREATED)


# Words


@pytest.mark.parametrize(
    ("word", "normalised"),
    [
        ("Invoice", "invoice"),
        ("CHLOÉ", "chloe"),
        ("Chloe\u0301", "chloe"),
        ("Straße", "strasse"),
        ("Ｆｕｌｌ", "full"),
        ("x" * 50, "x" * MAX_WORD_LENGTH),
    ],
)
def test_a_word_is_indexed_case_folded_without_accents_and_bounded(word, normalised):
    """Case, accents, compatibility forms and very long words all index the same way."""
    assert normalise_word(word) == normalised


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Invoice 42", ["invoice", "42"]),
        ("INV-2026/001 (rent)", ["inv", "2026", "001", "rent"]),
        ("snake_case words", ["snake", "case", "words"]),
        ("Invoice invoice INVOICE", ["invoice"]),
        ("", []),
        (None, []),
        ("!!! --- ...", []),
    ],
)
def test_the_words_of_a_text_are_its_distinct_normalised_words_in_order(text, words):
    """Punctuation and underscores separate words; repeats are kept once, first place first."""
    assert words_of(text) == words


def test_a_payment_is_found_by_its_reference_words_then_its_payer_name_words():
    """The reference comes first; a word in both is kept once."""
    payment = a_payment(reference="Chloe rent 42", payer_name="Chloé Dupont")
    assert searchable_words(payment) == ["chloe", "rent", "42", "dupont"]


def test_a_payment_without_a_payer_name_is_found_by_its_reference_alone():
    """No payer name: just the reference words."""
    assert searchable_words(a_payment(payer_name=None)) == ["invoice", "42"]


def test_every_word_of_a_long_payer_name_is_indexed():
    """The README promises any word of the reference or payer name, not just the first few."""
    payment = a_payment(
        reference="Rent March 2026", payer_name="Ana María de la Cruz y Fernández del Río Ortega"
    )
    assert searchable_words(payment) == [
        "rent", "march", "2026", "ana", "maria", "de", "la", "cruz", "y", "fernandez", "del",
        "rio", "ortega",
    ]  # fmt: skip


# The longest a merchant may type, in the most words: 9 words of a letter in 17 characters, and
# 30 distinct words of a letter or digit (none repeating the reference's) in 59.
LONGEST_REFERENCE = "a b c d e f g h i"
LONGEST_PAYER_NAME = " ".join("jklmnopqrstuvwxyz0123456789αβγ")


def test_the_wordiest_reference_and_payer_name_allowed_are_indexed_whole():
    payment = a_payment(reference=LONGEST_REFERENCE, payer_name=LONGEST_PAYER_NAME)
    assert len(LONGEST_REFERENCE) <= REFERENCE_MAX_LENGTH
    assert len(LONGEST_PAYER_NAME) <= PAYER_NAME_MAX_LENGTH

    words = searchable_words(payment)

    assert len(words) == 39 == MAX_WORDS_PER_PAYMENT
    assert words[-1] == "γ"


def test_a_payments_word_items_leave_room_in_its_transaction():
    """All of a new payment's items go in one TransactWriteItems of at most 100 items."""
    payment = a_payment(reference=LONGEST_REFERENCE, payer_name=LONGEST_PAYER_NAME)
    # the payment, its payer lookup, two rollups and the merchant registry, beside these
    others = 5
    assert len(search_items(payment, CREATED_AT)) + others <= 100 - 10  # room for more


def test_a_name_stored_before_the_bound_keeps_its_transaction_within_budget(caplog):
    """An older order's customer name may run to 140 characters: its first words are indexed."""
    old_name = " ".join(f"w{n}" for n in range(45))  # 134 characters, 45 words
    payment = a_payment(reference=LONGEST_REFERENCE, payer_name=old_name)

    words = searchable_words(payment)

    assert len(words) == MAX_WORDS_PER_PAYMENT
    assert f"Payment {PAYMENT_ID} has 54 words; search indexes its first 39" in caplog.text


# Search items


def test_a_new_payment_writes_a_word_item_and_a_vocabulary_item_per_word():
    """Each word lists the payment newest first, and adds the word to the merchant's vocabulary."""
    items = search_items(a_payment(), CREATED_AT)
    sort_keys = [item["sk"] for item in items]
    for word in ("invoice", "42", "chloe", "dupont"):
        assert sort_keys.count(f"w#{word}#{SUFFIX}") == 1
        assert sort_keys.count(f"v#{word}") == 1
    vocabulary = [item for item in items if item["sk"].startswith("v#")]
    assert vocabulary[0] == {"userId": "alice@example.com", "sk": "v#invoice", "word": "invoice"}


def test_a_new_payment_writes_one_amount_item_and_one_email_item():
    """Amount (zero-padded so keys sort by amount) and the payer email, lower-cased."""
    sort_keys = [item["sk"] for item in search_items(a_payment(), CREATED_AT)]
    assert sort_keys.count(f"a#000000000001250#{SUFFIX}") == 1
    assert sort_keys.count(f"e#chloe@example.com#{SUFFIX}") == 1
    assert len(sort_keys) == 2 * 4 + 2


def test_a_payment_without_a_payer_email_writes_no_email_item():
    """No email: no e# item at all (not an 'e#None#' one)."""
    sort_keys = [item["sk"] for item in search_items(a_payment(payer_email=None), CREATED_AT)]
    assert not any(key.startswith("e#") for key in sort_keys)
    assert sum(key.startswith("a#") for key in sort_keys) == 1


def test_search_items_carry_what_the_list_shows_without_reading_the_payment():
    """Word, amount and email items hold the merchant, id, time, currency and amount."""
    expected = {
        "userId": "alice@example.com",
        "paymentId": PAYMENT_ID,
        "createdAt": CREATED_AT,
        "currency": "GBP",
        "amountMinor": 1250,
    }
    for item in search_items(a_payment(), CREATED_AT):
        if not item["sk"].startswith("v#"):
            assert {k: v for k, v in item.items() if k != "sk"} == expected


def test_search_items_never_hold_the_status():
    """A status change must not have to rewrite the search items."""
    for item in search_items(a_payment(), CREATED_AT):
        assert "status" not in item


def test_the_prefixes_used_to_query_match_the_items_written():
    """A Query with begins_with on a prefix finds the item that was written."""
    sort_keys = [item["sk"] for item in search_items(a_payment(), CREATED_AT)]
    assert any(key.startswith(word_prefix("invoice")) for key in sort_keys)
    assert any(key.startswith(amount_prefix(1250)) for key in sort_keys)
    assert any(key.startswith(email_prefix(" CHLOE@example.com ")) for key in sort_keys)


def test_a_word_prefix_does_not_find_a_longer_word():
    """'w#inv#' is the whole word 'inv'; 'invoice' is found through the vocabulary instead."""
    assert not f"w#invoice#{SUFFIX}".startswith(word_prefix("inv"))


def test_amount_keys_sort_in_amount_order():
    """Zero padding makes string order equal number order."""
    assert amount_prefix(999) < amount_prefix(1000) < amount_prefix(100_000_000)


# Rollup counters


def test_creating_a_payment_counts_it_and_its_amount_in_its_status():
    """A new link awaiting payment adds one payment and its amount to that status."""
    assert rollup_deltas(None, a_payment()) == {
        "n_awaiting_payment": 1,
        "m_awaiting_payment": 1250,
    }


def test_a_status_change_moves_the_count_and_amount_from_the_old_status_to_the_new():
    """Awaiting payment → completed: the totals per status stay right, the grand total unchanged."""
    before = a_payment()
    after = a_payment(status=PaymentStatus.COMPLETED)
    deltas = rollup_deltas(before, after)
    assert deltas == {
        "n_awaiting_payment": -1,
        "m_awaiting_payment": -1250,
        "n_completed": 1,
        "m_completed": 1250,
    }
    assert sum(v for k, v in deltas.items() if k.startswith("n_")) == 0


def test_a_new_attempt_is_counted():
    """The payer starting to pay adds one attempt (and moves the status)."""
    before = a_payment()
    after = a_payment(
        status=PaymentStatus.PROCESSING,
        attempts=(an_attempt("sbx-pay-1", AttemptStatus.AUTHORIZING),),
    )
    deltas = rollup_deltas(before, after)
    assert deltas["attempts"] == 1
    assert "attemptsSucceeded" not in deltas
    assert deltas["n_processing"] == 1
    assert deltas["n_awaiting_payment"] == -1


def test_an_attempt_that_succeeds_is_counted_as_succeeded_once():
    """Authorised → executed adds one success; executed → settled adds none."""
    authorising = a_payment(
        status=PaymentStatus.PROCESSING,
        attempts=(an_attempt("sbx-pay-1", AttemptStatus.AUTHORIZING),),
    )
    executed = a_payment(
        status=PaymentStatus.COMPLETED,
        attempts=(an_attempt("sbx-pay-1", AttemptStatus.EXECUTED),),
    )
    settled = dataclasses.replace(
        executed, attempts=(an_attempt("sbx-pay-1", AttemptStatus.SETTLED),)
    )
    succeeded = rollup_deltas(authorising, executed)
    assert succeeded["attemptsSucceeded"] == 1
    assert "attempts" not in succeeded  # the same attempt, not a new one
    assert rollup_deltas(executed, settled) == {}


def test_a_new_attempt_that_already_succeeded_counts_as_an_attempt_and_a_success():
    """A first report that says 'executed' counts both at once."""
    after = a_payment(
        status=PaymentStatus.COMPLETED,
        attempts=(an_attempt("sbx-pay-1", AttemptStatus.EXECUTED),),
    )
    deltas = rollup_deltas(a_payment(), after)
    assert deltas["attempts"] == 1
    assert deltas["attemptsSucceeded"] == 1


def test_a_second_attempt_adds_to_the_attempts_but_not_the_status():
    """A retry after a failed attempt is one more attempt; earlier attempts are not recounted."""
    failed = an_attempt("sbx-pay-1", AttemptStatus.FAILED)
    before = a_payment(status=PaymentStatus.PROCESSING, attempts=(failed,))
    after = a_payment(
        status=PaymentStatus.PROCESSING,
        attempts=(failed, an_attempt("sbx-pay-2", AttemptStatus.AUTHORIZING)),
    )
    assert rollup_deltas(before, after) == {"attempts": 1}


def test_a_change_that_moves_nothing_changes_no_counter():
    """A repeated write leaves every counter as it was (no empty ADD)."""
    payment = a_payment(attempts=(an_attempt("sbx-pay-1", AttemptStatus.AUTHORIZING),))
    assert rollup_deltas(payment, dataclasses.replace(payment, version=2)) == {}


def test_rollup_counters_read_back_per_status():
    """Missing counters read as zero."""
    counts = counts_by_status({"n_completed": 3, "n_expired": 1})
    assert counts[PaymentStatus.COMPLETED] == 3
    assert counts[PaymentStatus.EXPIRED] == 1
    assert counts[PaymentStatus.AWAITING_PAYMENT] == 0
    assert set(counts) == set(PaymentStatus)


# Rollup updates


def test_a_payment_counts_in_its_utc_hour_its_utc_day_and_the_all_time_total():
    """Three rollups per currency: the creation hour's and day's (UTC) and all time's."""
    keys = rollup_keys("alice@example.com", CREATED_AT, "EUR")
    assert keys == [
        {"userId": "alice@example.com", "sk": f"r#hour#{CREATED_AT[:13]}#EUR"},
        {"userId": "alice@example.com", "sk": f"r#day#{CREATED_AT[:10]}#EUR"},
        {"userId": "alice@example.com", "sk": "r#all#EUR"},
    ]
    assert keys[0]["sk"] == hour_rollup_key(CREATED_AT[:13], "EUR")


def test_an_hour_is_named_by_its_utc_hour_whatever_the_instants_zone():
    """23:30 in Paris (UTC+2 in June) is 21:30 UTC: the hour 21."""
    paris = datetime(2026, 6, 1, 23, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert hour_of(paris) == "2026-06-01T21"


def _rendered(table, user_id, created_at, currency, deltas):
    """Return the rollup increments as the change set sends them (TransactWriteItems Updates)."""
    return [
        increment_update(i) for i in rollup_increments(table, user_id, created_at, currency, deltas)
    ]


def test_the_counter_changes_are_three_add_updates_one_per_rollup():
    """The same ADD is applied to the hour's, the day's and the all-time rollup, at once."""
    deltas = {"n_awaiting_payment": -1, "n_completed": 1}
    updates = _rendered("PaymentIndex", "alice@example.com", CREATED_AT, "GBP", deltas)
    assert [update["Update"]["Key"] for update in updates] == [
        {"userId": {"S": "alice@example.com"}, "sk": {"S": f"r#hour#{CREATED_AT[:13]}#GBP"}},
        {"userId": {"S": "alice@example.com"}, "sk": {"S": f"r#day#{CREATED_AT[:10]}#GBP"}},
        {"userId": {"S": "alice@example.com"}, "sk": {"S": "r#all#GBP"}},
    ]
    for update in updates:
        body = update["Update"]
        assert body["TableName"] == "PaymentIndex"
        assert body["UpdateExpression"] == "ADD #k0 :v0, #k1 :v1"
        assert body["ExpressionAttributeNames"] == {
            "#k0": "n_awaiting_payment",
            "#k1": "n_completed",
        }
        assert body["ExpressionAttributeValues"] == {":v0": {"N": "-1"}, ":v1": {"N": "1"}}


def test_no_counter_changes_write_no_rollup_update():
    """An empty ADD would be an invalid request; nothing is written instead."""
    assert _rendered("PaymentIndex", "alice@example.com", CREATED_AT, "GBP", {}) == []
