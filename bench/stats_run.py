"""``make bench BENCH_ARGS="--only stats"``: the Statistics page over its rollups, at 1,000 and
100,000 payments, side by side in one run.

The statistics read nothing but the rollups, so the accounts here (``bench-stats-{size}``) hold
only those: the hour, day and all-time rollup items summed from the same synthetic payments the
bulk loader writes (``bench.loader.synthetic_payment``), over the last 180 days so that a 90-day
view and the period before it both hold payments, exactly as the write path would have left
them. That takes seconds, where loading 100,000 whole payments takes 20 minutes or more; the
page's cost does not depend on the payments themselves, only on these items.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bench.list_run import interleaved
from bench.loader import synthetic_payment, write_batch
from bench.timing import Reads, counting_reads, percentile, signed_in_client
from dashboard.domain.money import SUPPORTED_CURRENCIES
from dashboard.domain.payments import PaymentStatus
from dashboard.domain.timezones import day_bounds, local_today, zone_named
from dashboard.store.database import Store
from dashboard.store.dynamo import store_time, to_item
from dashboard.store.index_items import rollup_deltas, rollup_keys
from dashboard.store.rollups import cover

STATS_HEADING = "## Statistics over hour rollups"
BARE = "bare reads of the view's rollups (its days' Query and its hours' BatchGetItem)"
FRAGMENT = "statistics, 90 days: htmx fragment"
FULL = "statistics, 90 days: full page"
# 90 days and the 90 before, 24 hours each, two currencies: the most a 90-day view can read.
ITEM_BOUND = 24 * 90 * 2 * 2


def rollup_items(user_id: str, count: int, seed: int = 11) -> dict[str, Counter]:
    """Return the rollup items (by sort key) that ``count`` synthetic payments leave behind."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rollups: dict[str, Counter] = defaultdict(Counter)
    for n in range(count):
        # Half in the last 90 days, half in the 90 before: the view reads both periods.
        payment = synthetic_payment(user_id, rng, now - timedelta(days=90 * (n % 2)))
        deltas = rollup_deltas(None, payment)
        for key in rollup_keys(user_id, store_time(payment.created_at), payment.currency):
            rollups[key["sk"]].update(deltas)
    return rollups


def load_stats_account(store: Store, size: int) -> str:
    """Write (every run: it takes seconds) the rollups of an account of ``size`` payments."""
    user = f"bench-stats-{size}"
    # Today's hours move on between runs: start from nothing, so no stale hour is left over.
    old = [r.sk for r in store.rollups.every_rollup(user)]
    store.rollups.delete(user, old)
    items: list[tuple[str, dict[str, Any]]] = [
        (store.tables.index, to_item({"userId": user, "sk": sk, **counters}))
        for sk, counters in rollup_items(user, size).items()
    ]
    for start in range(0, len(items), 25):
        write_batch(store, items[start : start + 25])
    counted = sum(
        rollup.counts[s] for rollup in store.rollups.all_time(user, None) for s in PaymentStatus
    )
    if counted != size:
        raise SystemExit(f"{user}: the all-time rollups count {counted}, not {size}")
    return user


def run_stats(
    app: Flask, loader_store: Store, sizes: tuple[int, ...], rounds: int
) -> tuple[dict[str, dict[int, list[float]]], dict[str, dict[int, Reads]], dict[int, int]]:
    """Return the timings, the reads of one request of each, and the hour items per account."""
    users = {size: load_stats_account(loader_store, size) for size in sizes}
    hour_items = {
        size: sum(1 for r in loader_store.rollups.every_rollup(user) if r.scope == "hour")
        for size, user in users.items()
    }
    clients = {size: signed_in_client(app, user) for size, user in users.items()}
    store = app.extensions["store"]

    def view(headers: dict[str, str]):
        def make(size: int):
            client = clients[size]

            def action() -> object:
                response = client.get("/stats?days=90", headers=headers)
                assert response.status_code == 200, response.status_code
                return response

            return action

        return {size: make(size) for size in sizes}

    def bare(size: int):
        # What the page's reads cost alone: the same days and hours, no app.
        def action() -> object:
            zone = zone_named(None)
            today = local_today(datetime.now(UTC), zone)
            # As the page reads: the 90 days one by one, the 90 before as one span.
            days = [today - timedelta(days=n) for n in range(90)]
            spans = [cover(*day_bounds(day, day, zone)) for day in days]
            spans.append(
                cover(*day_bounds(today - timedelta(days=179), today - timedelta(days=90), zone))
            )
            return store.rollups.covering(
                users[size], spans, list(SUPPORTED_CURRENCIES), app.extensions["side_reads"]
            )

        return action

    actions = {
        BARE: {size: bare(size) for size in sizes},
        FRAGMENT: view({"HX-Request": "true"}),
        FULL: view({}),
    }
    reads: dict[str, dict[int, Reads]] = {name: {} for name in actions}
    for name, by_size in actions.items():
        for size, action in by_size.items():
            with counting_reads(store.client) as counted:
                action()
            reads[name][size] = counted
    timings, _cpu = interleaved(actions, rounds)
    return timings, reads, hour_items


def stats_report(
    samples: dict[str, dict[int, list[float]]],
    reads: dict[str, dict[int, Reads]],
    hour_items: dict[int, int],
    sizes: tuple[int, ...],
    rounds: int,
) -> list[str]:
    """Return the Markdown table of the statistics view at each size, with the ratio."""
    small, large = min(sizes), max(sizes)
    header = " | ".join(f"{s:,}: median | p95 | requests / items" for s in sizes)
    lines = [f"| scenario | {header} | ratio |", "|---|" + "---:|---:|---:|" * len(sizes) + "---:|"]
    for name, by_size in samples.items():
        cells = [
            f"{statistics.median(by_size[s]):.1f} ms | {percentile(by_size[s], 0.95):.1f} ms | "
            f"{reads[name][s].requests} / {reads[name][s].items}"
            for s in sizes
        ]
        ratio = statistics.median(by_size[large]) / statistics.median(by_size[small])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    page_ratio = statistics.median(samples[FRAGMENT][large]) / statistics.median(
        samples[FRAGMENT][small]
    )
    bare_ratio = statistics.median(samples[BARE][large]) / statistics.median(samples[BARE][small])
    lines += [
        "",
        f"- Ratio: median at {large:,} ÷ median at {small:,}, measured side by side "
        f"(target ≤ 1.5): the fragment {page_ratio:.2f}, its bare reads alone {bare_ratio:.2f}. "
        f"{rounds} rounds; in each, every scenario runs once at each size.",
        "- Hour rollup items held: "
        + ", ".join(f"{hour_items[s]:,} at {s:,}" for s in sizes)
        + f". Summing hours, a 90-day view would read up to 24 × 90 days × 2 currencies × 2 "
        f"(the period before) = {ITEM_BOUND:,} of them; it reads the 180 UTC days' items (one "
        "Query) and only the hours between UTC and local midnight of the 90 days shown and at "
        "the two ends of the period before, which is only summed (BatchGetItem by key: none on "
        "a winter day in London, one or two a day in Paris), whatever the account's size. The "
        "accounts here are in Europe/London, so the 180 days hold both GMT and BST days.",
    ]
    return lines
