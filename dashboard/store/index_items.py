"""Items of the ``PaymentIndex`` table: search terms and per-hour rollups, built from payments.

They are written in the same ``TransactWriteItems`` as the payment change they reflect, so the
index and the counts can never disagree with the payments. Layout (HASH ``userId``, RANGE ``sk``):

* ``w#{word}#{createdAt}#{paymentId}``: a word of the reference or payer name; a Query with
  the key range of ``w#{word}#`` lists its payments newest first.
* ``v#{word}``: the merchant's vocabulary, so a prefix such as ``inv`` finds its words
  (``invoice``, ``invited``) with one Query, and each word's payments with one more.
* ``a#{amountMinor:015d}#{createdAt}#{paymentId}``: the amount; ``e#{email}#…``: the payer email.
* ``#merchants`` / ``m#{userId}``: every merchant that ever created a payment, so maintenance
  commands can visit them all with a Query instead of a Scan.
* ``r#hour#{YYYY-MM-DDTHH}#{currency}`` and ``r#all#{currency}``: rollups, counts and minor-unit
  sums per status, plus attempt counts and executed refunds (count and minor units). A payment
  counts in the UTC hour it was created, in the status it has now; a status change moves it
  from one counter to the other. A merchant's local day is the sum of its UTC hours (every
  offered zone is whole hours from UTC), so no zone needs items of its own and a change of zone
  re-buckets nothing. ``r#day#{YYYY-MM-DD}#{currency}`` sums a UTC day, so a long view reads
  about one item a day (``rollup_keys``).

Search items hold only what never changes after creation (amount, currency, times), so a status
change touches the payment and two rollups, nothing else.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dashboard.core.words import words_of
from dashboard.domain.payments import (
    PAYER_NAME_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Payment,
    PaymentStatus,
)
from dashboard.store.changeset import Increment

log = logging.getLogger(__name__)


def most_words(length: int) -> int:
    """Return how many words a text of ``length`` characters can hold (one letter, one space...)."""
    return (length + 1) // 2


# Search finds any word of the reference or payer name, so every one is indexed: two items per
# word (``w#`` and ``v#``), written in the payment's own TransactWriteItems (at most 100 items).
# The input bounds give at most 9 + 30 words, 78 items, leaving 22 for the payment, its lookup,
# amount and email items, rollups and merchant registry (7 today) and what the change set adds.
MAX_WORDS_PER_PAYMENT = most_words(REFERENCE_MAX_LENGTH) + most_words(PAYER_NAME_MAX_LENGTH)


def searchable_words(payment: Payment) -> list[str]:
    """Return every word a payment can be found by: its reference's, then its payer's name's.

    Input within today's bounds never has more than ``MAX_WORDS_PER_PAYMENT`` words. Only a
    name stored before the bounds (e.g. an order's customer name of up to 140 characters) can
    have more; its first words are kept so the payment's transaction still fits, and the log
    says so (the payment id only: names stay out of logs).
    """
    words = list(dict.fromkeys(words_of(payment.reference) + words_of(payment.payer_name)))
    if len(words) > MAX_WORDS_PER_PAYMENT:
        log.warning(
            "Payment %s has %d words; search indexes its first %d",
            payment.payment_id,
            len(words),
            MAX_WORDS_PER_PAYMENT,
        )
    return words[:MAX_WORDS_PER_PAYMENT]


def _suffix(payment: Payment, created_at: str) -> str:
    return f"{created_at}#{payment.payment_id}"


def search_items(payment: Payment, created_at: str) -> list[dict[str, Any]]:
    """Return the search items of a new payment (plain values, not yet serialised)."""
    common = {
        "userId": payment.user_id,
        "paymentId": payment.payment_id,
        "createdAt": created_at,
        "currency": payment.currency,
        "amountMinor": payment.amount_minor,
    }
    suffix = _suffix(payment, created_at)
    items = []
    for word in searchable_words(payment):
        items.append({**common, "sk": f"w#{word}#{suffix}"})
        items.append({"userId": payment.user_id, "sk": f"v#{word}", "word": word})
    items.append({**common, "sk": f"{amount_prefix(payment.amount_minor)}{suffix}"})
    if payment.payer_email:
        items.append({**common, "sk": f"{email_prefix(payment.payer_email)}{suffix}"})
    return items


MERCHANTS_PARTITION = "#merchants"


def merchant_registry_item(user_id: str) -> dict[str, str]:
    """Return the item that lists a merchant among all merchants (for maintenance commands)."""
    return {"userId": MERCHANTS_PARTITION, "sk": f"m#{user_id}", "merchant": user_id}


def prefix_range(prefix: str) -> dict[str, str]:
    """Return ``:lo`` and ``:hi`` for ``BETWEEN``: exactly the keys beginning with ``prefix``.

    The same keys as ``begins_with``, but as a key range: DynamoDB Local answers
    ``begins_with`` by reading the whole partition, which made search cost grow with the
    account there; a range is a seek on both DynamoDB Local and AWS. U+10FFFF sorts after
    every character in UTF-8 byte order, which is the order DynamoDB uses.
    """
    return {":lo": prefix, ":hi": prefix + "\U0010ffff"}


def word_prefix(word: str) -> str:
    """Return the sort-key prefix of one whole word's items."""
    return f"w#{word}#"


def amount_prefix(amount_minor: int) -> str:
    """Return the sort-key prefix of one amount's items."""
    return f"a#{amount_minor:015d}#"


def email_prefix(email: str) -> str:
    """Return the sort-key prefix of one payer email's items."""
    return f"e#{email.strip().lower()}#"


def rollup_keys(user_id: str, created_at: str, currency: str) -> list[dict[str, str]]:
    """Return the keys of the three rollups a payment counts in: its UTC hour's, its UTC day's
    and all time's.

    ``created_at`` is a stored time (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so its first 13
    characters are its UTC hour and its first 10 its UTC day. A local day is read as UTC days
    plus or minus the few hours between UTC midnight and local midnight (see
    ``store.rollups.cover``), so a long view reads about one item a day, not 24.
    """
    return [
        {"userId": user_id, "sk": hour_rollup_key(created_at[:13], currency)},
        {"userId": user_id, "sk": day_rollup_key(created_at[:10], currency)},
        {"userId": user_id, "sk": all_time_rollup_key(currency)},
    ]


HOUR_ROLLUP_PREFIX = "r#hour#"
DAY_ROLLUP_PREFIX = "r#day#"


def day_rollup_key(day: str, currency: str) -> str:
    """Return the sort key of one UTC day's rollup (``day``: ``YYYY-MM-DD``) in a currency."""
    return f"{DAY_ROLLUP_PREFIX}{day}#{currency}"


def hour_of(instant: datetime) -> str:
    """Return the UTC hour ``instant`` falls in, as its rollups name it (``YYYY-MM-DDTHH``)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H")


def hour_rollup_key(hour: str, currency: str) -> str:
    """Return the sort key of one UTC hour's rollup (``hour``: ``YYYY-MM-DDTHH``) in a currency."""
    return f"{HOUR_ROLLUP_PREFIX}{hour}#{currency}"


def all_time_rollup_key(currency: str) -> str:
    """Return the sort key of the all-time rollup of one currency."""
    return f"r#all#{currency}"


def rollup_deltas(before: Payment | None, after: Payment) -> dict[str, int]:
    """Return how the rollup counters change when ``before`` becomes ``after`` (None: created)."""
    deltas: dict[str, int] = {}

    def add(name: str, value: int) -> None:
        deltas[name] = deltas.get(name, 0) + value

    if before is None or before.status != after.status:
        if before is not None:
            add(f"n_{before.status.value}", -1)
            add(f"m_{before.status.value}", -before.amount_minor)
        add(f"n_{after.status.value}", 1)
        add(f"m_{after.status.value}", after.amount_minor)
    known = {a.provider_payment_id: a for a in (before.attempts if before else ())}
    for attempt in after.attempts:
        previous = known.get(attempt.provider_payment_id)
        if previous is None:
            add("attempts", 1)
        if attempt.status.succeeded and not (previous and previous.status.succeeded):
            add("attemptsSucceeded", 1)
    # Refunds count on the payment's own hour, as everything else: what executed refunds gave
    # back, and how many; a return takes its refund out of both again.
    executed_before = [r for r in (before.refunds if before else ()) if r.executed_minor]
    executed_after = [r for r in after.refunds if r.executed_minor]
    add(REFUNDS_EXECUTED, len(executed_after) - len(executed_before))
    add(
        REFUNDED_MINOR,
        sum(r.amount_minor for r in executed_after) - sum(r.amount_minor for r in executed_before),
    )
    return {name: value for name, value in deltas.items() if value}


# The rollup counters of refunds: executed refunds and the minor units they gave back.
REFUNDS_EXECUTED = "refundsExecuted"
REFUNDED_MINOR = "refundedMinor"


def rollup_increments(
    table: str, user_id: str, created_at: str, currency: str, deltas: dict[str, int]
) -> list[Increment]:
    """Return the change-set increments that apply ``deltas`` to both rollups, named by rollup.

    Named ``rollup:hour#…``, ``rollup:day#…`` and ``rollup:all#…``; none when nothing changes.
    """
    if not deltas:
        return []
    return [
        Increment(f"rollup:{key['sk'].removeprefix('r#')}", table, key, deltas)
        for key in rollup_keys(user_id, created_at, currency)
    ]


def counts_by_status(rollup: dict[str, Any]) -> dict[PaymentStatus, int]:
    """Return the payment count per status held in one rollup item (plain values)."""
    return {status: int(rollup.get(f"n_{status.value}", 0)) for status in PaymentStatus}
