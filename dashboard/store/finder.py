"""Finding payments: the query planner and a newest-first merge of indexed lookups.

Every filter and search reading becomes a *source*: one Query on the table or an index, newest
first. The planner picks the most selective key for the filters (RefundIndex for a refund filter,
StatusIndex for a status, CreatedAtIndex for dates, the search items for a search); what no key
covers is a filter expression on the items read or a check on the page's payments. Several
sources (the readings of one search, the summaries of "any refund") are merged newest first
without duplicates. Nothing here scans, and a page costs what its matches cost, not what the
account holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.payments import Payment, PaymentStatus, RefundSummary
from dashboard.domain.search import SearchTerms, matches_all_words
from dashboard.store.dynamo import (
    TableNames,
    batch_get,
    from_item,
    store_time,
    to_item,
    translate_unavailable,
)
from dashboard.store.index_items import amount_prefix, email_prefix, prefix_range, word_prefix
from dashboard.store.payments import (
    attempt_lookup_key,
    link_lookup_key,
    payment_from_item,
)
from dashboard.store.schema import CREATED_AT_INDEX, REFUND_INDEX, STATUS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

MAX_WORDS_PER_PREFIX = 25
MAX_ID_PREFIX_MATCHES = 100
PROVIDERS = ("sandbox", "truelayer")
# Once a page has something to show, stop reading after this many items and offer "Load more";
# while it has nothing, read up to the larger budget, then say so and offer to keep searching.
READ_BUDGET = 2000
EMPTY_PAGE_BUDGET = 10_000
_DONE = "done"
_MICROSECOND = timedelta(microseconds=1)
_EARLIEST_STORED = "0000-01-01T00:00:00.000000Z"
_LATEST_STORED = "9999-12-31T23:59:59.999999Z"


@dataclass
class Source:
    """One newest-first Query (or a few fixed items) that yields candidate payments."""

    name: str
    request: dict[str, Any] = field(default_factory=dict)
    key_attributes: tuple[str, ...] = ()
    holds_payments: bool = True  # False: index items, whose payments are fetched by key
    fixed_items: list[dict[str, Any]] | None = None  # already read (e.g. by GetItem)


@dataclass
class Plan:
    """The sources for one list request, and the checks every payment must pass."""

    sources: list[Source]
    description: str
    words_truncated: bool = False


@dataclass
class FoundPage:
    """A page of payments, the cursor state that continues it (None at the end), and costs."""

    payments: list[Payment]
    next_state: dict[str, Any] | None
    items_read: int
    plan: Plan


def _created_bounds(filters: PaymentQuery) -> tuple[str, str] | None:
    """Return the stored-time bounds, both inclusive, of the query's [from, before) instants.

    Stored times are fixed-width with microseconds (``store_time``), so the last instant
    before ``created_before`` is one microsecond earlier. An open side reads from the first
    stored time possible or to the last.
    """
    if not filters.has_created_range:
        return None
    low = store_time(filters.created_from) if filters.created_from else _EARLIEST_STORED
    high = (
        store_time(filters.created_before - _MICROSECOND)
        if filters.created_before
        else _LATEST_STORED
    )
    return low, high


def ordering_key(values: dict[str, Any]) -> str:
    """Return the newest-first merge key of a payment or index item."""
    return f"{values['createdAt']}#{values['paymentId']}"


class PaymentFinder:
    """Plans and runs list queries for one merchant."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._tables = tables

    # Planning ---------------------------------------------------------------------------------

    def plan(self, user_id: str, filters: PaymentQuery, terms: SearchTerms) -> Plan:
        """Return the sources that together list what the filters and search ask for."""
        if terms.text:
            return self._plan_search(user_id, filters, terms)
        if filters.refund_summaries:
            return self._plan_refunds(user_id, filters)
        bounds = _created_bounds(filters)
        values: dict[str, Any] = {":u": user_id}
        if filters.group:
            index, attribute = STATUS_INDEX, "statusSort"
            prefix = f"{filters.group.value}#"
            if bounds:
                condition = "userId = :u AND statusSort BETWEEN :lo AND :hi"
                values.update({":lo": prefix + bounds[0], ":hi": prefix + bounds[1]})
            else:
                condition = "userId = :u AND statusSort BETWEEN :lo AND :hi"
                values.update(prefix_range(prefix))
            description = f"{STATUS_INDEX} (status group{' + dates' if bounds else ''})"
        elif bounds:
            index, attribute = CREATED_AT_INDEX, "createdAt"
            condition = "userId = :u AND createdAt BETWEEN :lo AND :hi"
            values.update({":lo": bounds[0], ":hi": bounds[1]})
            description = f"{CREATED_AT_INDEX} (dates)"
        else:
            # The index on createdAt, not the table: payment ids are minted when the form opens,
            # so only createdAt orders every list (and every merge) the same way.
            index, attribute, condition = CREATED_AT_INDEX, "createdAt", "userId = :u"
            description = f"{CREATED_AT_INDEX} (newest first)"
        request = {
            "TableName": self._tables.payments,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        request["IndexName"] = index
        key_attributes = ("userId", "paymentId", attribute)
        _add_filter_expression(request, values, filters, amount_attribute="amountMinor")
        request["ExpressionAttributeValues"] = to_item(values)
        source = Source("list", request, key_attributes)
        return Plan([source], description + _filter_note(filters))

    def _plan_refunds(self, user_id: str, filters: PaymentQuery) -> Plan:
        """Return one RefundIndex Query per refund summary asked for, merged newest first.

        Each summary is a key prefix of ``refundSort`` (only payments with a refund carry it),
        and the dates a range within that prefix. "Any refund" is every summary's Query, merged
        by creation time as a search's readings are, rather than the merchant's whole index
        range in one Query: that would come ordered by refund summary first, not newest first
        like every other list. Status, currency and amounts are a filter expression.
        """
        bounds = _created_bounds(filters)
        summaries = [s for s in RefundSummary if s in filters.refund_summaries]
        sources = []
        for summary in summaries:
            prefix = f"{summary.value}#"
            values: dict[str, Any] = {":u": user_id}
            if bounds:
                values.update({":lo": prefix + bounds[0], ":hi": prefix + bounds[1]})
            else:
                values.update(prefix_range(prefix))
            request = {
                "TableName": self._tables.payments,
                "IndexName": REFUND_INDEX,
                "KeyConditionExpression": "userId = :u AND refundSort BETWEEN :lo AND :hi",
                "ScanIndexForward": False,
            }
            _add_filter_expression(
                request, values, filters, amount_attribute="amountMinor", status_attribute="status"
            )
            request["ExpressionAttributeValues"] = to_item(values)
            key_attributes = ("userId", "paymentId", "refundSort")
            sources.append(Source(f"refund:{summary.value}", request, key_attributes))
        keyed = "refund summary" if len(summaries) == 1 else f"{len(summaries)} refund summaries"
        description = f"{REFUND_INDEX} ({keyed}{' + dates' if bounds else ''})"
        return Plan(sources, description + _filter_note(filters, status_filtered=True))

    def _plan_search(self, user_id: str, filters: PaymentQuery, terms: SearchTerms) -> Plan:
        sources: list[Source] = []
        readings = []
        if terms.email:
            sources.append(self._index_source("email", email_prefix(terms.email), user_id, filters))
            readings.append("payer email")
        if terms.amount_minor is not None:
            sources.append(
                self._index_source("amount", amount_prefix(terms.amount_minor), user_id, filters)
            )
            readings.append("amount")
        expanded: tuple[str, ...] = ()
        truncated = False
        if terms.driving_word:
            expanded, truncated = self._words_beginning(user_id, terms.driving_word)
            for word in expanded:
                sources.append(self._index_source(f"w:{word}", word_prefix(word), user_id, filters))
            readings.append(f"{len(expanded)} word(s) beginning “{terms.driving_word}”")
        if terms.id_prefix:
            items = self._id_prefix_matches(user_id, terms.id_prefix)
            sources.append(Source("id-prefix", fixed_items=items))
            readings.append("payment id prefix")
        if terms.provider_id:
            items = self._provider_id_matches(user_id, terms.provider_id)
            sources.append(Source("provider-id", fixed_items=items))
            readings.append("provider id")
        return Plan(sources, "Search: " + ", ".join(readings), truncated)

    def _index_source(self, name: str, prefix: str, user_id: str, filters: PaymentQuery) -> Source:
        bounds = _created_bounds(filters)
        values: dict[str, Any] = {":u": user_id}
        if bounds:
            condition = "userId = :u AND sk BETWEEN :lo AND :hi"
            values.update({":lo": prefix + bounds[0], ":hi": prefix + bounds[1] + "\U0010ffff"})
        else:
            condition = "userId = :u AND sk BETWEEN :lo AND :hi"
            values.update(prefix_range(prefix))
        request = {
            "TableName": self._tables.index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        _add_filter_expression(request, values, filters, amount_attribute="amountMinor")
        request["ExpressionAttributeValues"] = to_item(values)
        return Source(name, request, ("userId", "sk"), holds_payments=False)

    def _id_prefix_matches(self, user_id: str, prefix: str) -> list[dict[str, Any]]:
        """Return the payments whose id begins with ``prefix`` (at least 8 characters).

        Ids are UUIDv7, so 8 characters already narrow to about a minute of form openings: the
        matches are few and are read at once, then merged by creation time like the rest.
        """
        with translate_unavailable():
            response = self._client.query(
                TableName=self._tables.payments,
                KeyConditionExpression="userId = :u AND paymentId BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item({":u": user_id, **prefix_range(prefix)}),
                ScanIndexForward=False,
                Limit=MAX_ID_PREFIX_MATCHES,
            )
        return response.get("Items", [])

    def _words_beginning(self, user_id: str, prefix: str) -> tuple[tuple[str, ...], bool]:
        """Return the merchant's words that begin with ``prefix`` (one Query on the vocabulary)."""
        with translate_unavailable():
            response = self._client.query(
                TableName=self._tables.index,
                KeyConditionExpression="userId = :u AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item({":u": user_id, **prefix_range(f"v#{prefix}")}),
                Limit=MAX_WORDS_PER_PREFIX + 1,
            )
        words = [from_item(item)["word"] for item in response.get("Items", [])]
        return tuple(words[:MAX_WORDS_PER_PREFIX]), len(words) > MAX_WORDS_PER_PREFIX

    def _provider_id_matches(self, user_id: str, provider_id: str) -> list[dict[str, Any]]:
        """Return this merchant's payments behind a provider's link or payment id (GetItems)."""
        keys = [
            key(provider, provider_id)
            for provider in PROVIDERS
            for key in (link_lookup_key, attempt_lookup_key)
        ]
        found = []
        for lookup_key in keys:
            with translate_unavailable():
                item = self._client.get_item(
                    TableName=self._tables.lookups, Key=to_item({"lookupKey": lookup_key})
                ).get("Item")
            if not item:
                continue
            owner = from_item(item)
            if owner["userId"] != user_id:
                continue  # another merchant's: as if it did not exist
            with translate_unavailable():
                payment = self._client.get_item(
                    TableName=self._tables.payments,
                    Key=to_item({"userId": user_id, "paymentId": owner["paymentId"]}),
                ).get("Item")
            if payment:
                found.append(payment)
        return found

    # Running -----------------------------------------------------------------------------------

    def find(
        self,
        plan: Plan,
        filters: PaymentQuery,
        terms: SearchTerms,
        state: dict[str, Any] | None,
        page_size: int,
    ) -> FoundPage:
        """Return the next page of the plan's merged results after ``state`` (None: the first).

        A page holds ``page_size`` payments unless the matches run out, or reading has cost
        more than the budget (``READ_BUDGET`` once something was found, ``EMPTY_PAGE_BUDGET``
        while nothing was): then the page ends early with a cursor to keep searching.
        """
        run = _MergeRun(self, plan, state or {}, page_size)
        page: list[Payment] = []
        while len(page) < page_size:
            run.budget = READ_BUDGET if page else EMPTY_PAGE_BUDGET
            candidates = run.take(page_size - len(page))
            if not candidates:
                break
            found_by = {c["paymentId"]: c["found_by"] for c in candidates}
            for payment in self._payments_for(candidates):
                by_words = all(n.startswith("w:") for n in found_by[payment.payment_id])
                if _passes(payment, filters, terms, by_words):
                    page.append(payment)
            if run.items_read > run.budget:
                break
        return FoundPage(page, run.state(), run.items_read, plan)

    def iterate(
        self, plan: Plan, filters: PaymentQuery, terms: SearchTerms, batch_size: int = 100
    ) -> Iterator[Payment]:
        """Yield every matching payment, newest first, a page at a time (for exports)."""
        state: dict[str, Any] | None = None
        while True:
            page = self.find(plan, filters, terms, state, batch_size)
            yield from page.payments
            if page.next_state is None:
                return
            state = page.next_state

    def query(self, request: dict[str, Any]) -> QueryOutputTypeDef:
        """Run one Query request."""
        with translate_unavailable():
            return self._client.query(**request)

    def _payments_for(self, candidates: list[dict[str, Any]]) -> list[Payment]:
        """Return the payments of the candidates, in the candidates' order."""
        wanted = [c for c in candidates if "status" not in c]
        fetched: dict[str, dict[str, Any]] = {}
        if wanted:
            fetched = self._batch_get(wanted)
        payments = []
        for candidate in candidates:
            raw = (
                candidate["_item"] if "status" in candidate else fetched.get(candidate["paymentId"])
            )
            if raw is not None:
                payments.append(payment_from_item(raw))
        return payments

    def _batch_get(self, candidates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # A batch of GetItems by primary key (never a Scan), for the index items of one page.
        keys = {
            c["paymentId"]: {"userId": c["userId"], "paymentId": c["paymentId"]} for c in candidates
        }
        items = batch_get(self._client, self._tables.payments, [to_item(k) for k in keys.values()])
        return {item["paymentId"]["S"]: item for item in items}


class _MergeRun:
    """The newest-first merge of a plan's sources for one page.

    The *watermark* is where the previous page stopped: a creation time, and the ids already
    shown with exactly that time (indexes give no order among equal times, so an id set, not a
    tie-break, keeps such payments from being skipped or shown twice).
    """

    def __init__(self, finder: PaymentFinder, plan: Plan, state: dict[str, Any], page_size: int):
        self._finder = finder
        self._sources = plan.sources
        self._start: dict[str, Any] = dict(state.get("sources", {}))
        after = state.get("after") or {}
        self._watermark: str | None = after.get("c")
        self._shown_at_watermark: set[str] = set(after.get("ids", []))
        self._fetch_size = page_size + 1
        self._buffers: dict[str, deque[dict[str, Any]]] = {s.name: deque() for s in self._sources}
        self._next_key: dict[str, Any] = {}
        self._exhausted: set[str] = {
            s.name for s in self._sources if self._start.get(s.name) == _DONE
        }
        self._consumed: dict[str, dict[str, Any]] = {}
        self.items_read = 0
        self.budget = EMPTY_PAGE_BUDGET
        for source in self._sources:
            if source.fixed_items is not None and source.name not in self._exhausted:
                candidates = [_candidate(item, True) for item in source.fixed_items]
                candidates.sort(key=ordering_key, reverse=True)
                self._buffers[source.name].extend(candidates)
                self._exhausted.add(source.name)  # nothing more to read for it

    def take(self, count: int) -> list[dict[str, Any]]:
        """Pop up to ``count`` candidates not shown yet, newest first."""
        taken: list[dict[str, Any]] = []
        while len(taken) < count:
            heads = self._heads()
            if not heads:
                break
            newest = max(heads.values(), key=ordering_key)
            found_by = []
            for name, head in heads.items():
                if head["paymentId"] == newest["paymentId"]:  # found by several readings
                    self._consumed[name] = self._buffers[name].popleft()
                    found_by.append(name)
            taken.append({**newest, "found_by": found_by})
            if newest["createdAt"] != self._watermark:
                self._watermark, self._shown_at_watermark = newest["createdAt"], set()
            self._shown_at_watermark.add(newest["paymentId"])
        return taken

    def _already_shown(self, candidate: dict[str, Any]) -> bool:
        if self._watermark is None:
            return False
        created = candidate["createdAt"]
        return created > self._watermark or (
            created == self._watermark and candidate["paymentId"] in self._shown_at_watermark
        )

    def _heads(self) -> dict[str, dict[str, Any]]:
        heads = {}
        for source in self._sources:
            buffer = self._buffers[source.name]
            while True:
                while buffer and self._already_shown(buffer[0]):
                    self._consumed[source.name] = buffer.popleft()
                if buffer or source.name in self._exhausted or self.items_read > self.budget:
                    break
                self._fetch(source)
            if buffer:
                heads[source.name] = buffer[0]
        return heads

    def _fetch(self, source: Source) -> None:
        request = dict(source.request, Limit=self._fetch_size)
        start = self._next_key.get(source.name, self._start.get(source.name))
        if start:
            request["ExclusiveStartKey"] = start
        response = self._finder.query(request)
        self.items_read += response.get("ScannedCount", len(response.get("Items", [])))
        items = response.get("Items", [])
        self._buffers[source.name].extend(_candidate(i, source.holds_payments) for i in items)
        last_key = response.get("LastEvaluatedKey")
        if last_key is None:
            self._exhausted.add(source.name)
        else:
            self._next_key[source.name] = last_key

    def state(self) -> dict[str, Any] | None:
        """Return the cursor state that continues after what was taken, or None at the end."""
        sources: dict[str, Any] = {}
        for source in self._sources:
            name = source.name
            buffer = self._buffers[name]
            if not buffer and name in self._exhausted:
                sources[name] = _DONE
            elif source.fixed_items is not None:
                sources[name] = None  # re-read on the next page; the watermark skips the shown
            elif not buffer and name in self._next_key:
                sources[name] = self._next_key[name]  # all that was read is behind us
            elif name in self._consumed:
                raw = self._consumed[name]["_item"]
                sources[name] = {k: raw[k] for k in source.key_attributes}
            else:
                sources[name] = self._start.get(name)
        if all(value == _DONE for value in sources.values()):
            return None
        after = {"c": self._watermark, "ids": sorted(self._shown_at_watermark)}
        return {"sources": sources, "after": after}


def _candidate(item: dict[str, Any], holds_payment: bool) -> dict[str, Any]:
    candidate = {
        "userId": item["userId"]["S"],
        "paymentId": item["paymentId"]["S"],
        "createdAt": item["createdAt"]["S"],
        "_item": item,
    }
    if holds_payment:
        candidate["status"] = item["status"]["S"]
    return candidate


def _add_filter_expression(
    request: dict[str, Any],
    values: dict[str, Any],
    filters: PaymentQuery,
    amount_attribute: str,
    status_attribute: str | None = None,
) -> None:
    """Add the filters that no key covers (currency, amount range) as a FilterExpression.

    With ``status_attribute`` (a key that does not cover the status group), the group is one
    more clause: one of its statuses.
    """
    clauses = []
    names: dict[str, str] = {}
    if status_attribute and filters.group:
        statuses = [s for s in PaymentStatus if s.group is filters.group]
        placeholders = [f":st{n}" for n in range(len(statuses))]
        clauses.append(f"#st IN ({', '.join(placeholders)})")
        names["#st"] = status_attribute
        values.update({p: s.value for p, s in zip(placeholders, statuses, strict=True)})
    if filters.currency:
        clauses.append("#cur = :cur")
        names["#cur"] = "currency"
        values[":cur"] = filters.currency
    if filters.amount_min_minor is not None:
        clauses.append("#amt >= :amin")
        values[":amin"] = filters.amount_min_minor
    if filters.amount_max_minor is not None:
        clauses.append("#amt <= :amax")
        values[":amax"] = filters.amount_max_minor
    if filters.has_amount_range:
        names["#amt"] = amount_attribute
    if clauses:
        request["FilterExpression"] = " AND ".join(clauses)
        request["ExpressionAttributeNames"] = names


def _filter_note(filters: PaymentQuery, status_filtered: bool = False) -> str:
    notes = []
    if status_filtered and filters.group:
        notes.append("status")
    if filters.currency:
        notes.append("currency")
    if filters.has_amount_range:
        notes.append("amount")
    return f"; filter expression on {', '.join(notes)}" if notes else ""


def _passes(
    payment: Payment, filters: PaymentQuery, terms: SearchTerms, found_by_words: bool
) -> bool:
    """Check a payment against every filter (the keys already narrowed most of them)."""
    if filters.group and payment.status.group is not filters.group:
        return False
    if filters.currency and payment.currency != filters.currency:
        return False
    if filters.amount_min_minor is not None and payment.amount_minor < filters.amount_min_minor:
        return False
    if filters.amount_max_minor is not None and payment.amount_minor > filters.amount_max_minor:
        return False
    if not filters.created_within(payment.created_at):
        return False
    if not filters.refund_matches(payment):
        return False  # a search's readings know nothing of refunds
    if terms.amount_currency and payment.currency != terms.amount_currency:
        return False  # "£12.50" is an amount in pounds
    if not found_by_words:
        return True  # found by its id, amount or email: the words were another reading
    return matches_all_words(terms.other_words, payment.reference, payment.payer_name)
