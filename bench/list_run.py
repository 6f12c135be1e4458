"""``make bench BENCH_ARGS="--only list"``: the payments list page next to the bare Query it
issues, side by side in one run, with the DynamoDB requests each makes.

The issue's target is the list page median within 2× of that Query's: whatever the page does
beyond its one Query (the session and membership reads, the status counts, rendering) is the gap.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from bench.timing import Reads, counting_reads, percentile, timed
from dashboard.store.database import Store

BARE_QUERY = "bare DynamoDB Query (26 items, CreatedAtIndex)"
LIST_FRAGMENT = "list page (htmx fragment)"
LIST_FULL = "list page (full page, header and switcher)"


Samples = dict[str, dict[int, list[float]]]


def newest_payments_query(store: Store, user: str) -> object:
    """Send the list page's own Query bare: the 26 newest payments (25 shown, 1 to know more)."""
    return store.client.query(
        TableName=store.tables.payments,
        IndexName="CreatedAtIndex",
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user}},
        ScanIndexForward=False,
        Limit=26,
    )


def run_list(
    app: Flask, clients: dict[int, tuple[str, FlaskClient]], rounds: int
) -> tuple[Samples, Samples, dict[str, dict[int, Reads]]]:
    """Return the wall and CPU samples (ms) and the DynamoDB reads of the Query and the page."""
    store = app.extensions["store"]

    def bare_query(user: str, _client: FlaskClient) -> Callable[[], object]:
        return lambda: newest_payments_query(store, user)

    def page(headers: dict[str, str]):
        def make(_user: str, client: FlaskClient) -> Callable[[], object]:
            def action() -> object:
                response = client.get("/payments", headers=headers)
                assert response.status_code == 200, response.status_code
                return response

            return action

        return make

    scenarios = {
        BARE_QUERY: bare_query,
        LIST_FRAGMENT: page({"HX-Request": "true"}),
        LIST_FULL: page({}),
    }
    actions = {
        name: {size: make(user, client) for size, (user, client) in clients.items()}
        for name, make in scenarios.items()
    }
    samples, cpu = interleaved(actions, rounds)
    reads: dict[str, dict[int, Reads]] = {}
    for name, by_size in actions.items():
        reads[name] = {}
        for size, action in by_size.items():
            with counting_reads(store.client) as counted:
                action()
            reads[name][size] = counted
        print(
            f"  {name}: "
            + ", ".join(f"{s:,}: {statistics.median(v):.1f} ms" for s, v in samples[name].items()),
            flush=True,
        )
    return samples, cpu, reads


def interleaved(
    actions: dict[str, dict[int, Callable[[], object]]], rounds: int, warmup: int = 2
) -> tuple[Samples, Samples]:
    """Return the durations and the CPU times (ms) of every scenario at every size.

    One run of each per round: the page and its bare Query alternate as the sizes do, since the
    machine is shared and a ratio of two figures measured minutes apart would measure the
    neighbours' load, not the page. CPU time is this process's (every thread), which the
    neighbours barely move: it says how much work the page does beside its Query.
    """
    for by_size in actions.values():
        for action in by_size.values():
            timed(action, 0, warmup)
    samples: Samples = {name: {size: [] for size in by_size} for name, by_size in actions.items()}
    cpu: Samples = {name: {size: [] for size in by_size} for name, by_size in actions.items()}
    for _ in range(rounds):
        for name, by_size in actions.items():
            for size, action in by_size.items():
                started = time.process_time()
                samples[name][size] += timed(action, 1, warmup=0)
                cpu[name][size].append((time.process_time() - started) * 1000)
    return samples, cpu


def list_report(
    samples: Samples,
    cpu: Samples,
    reads: dict[str, dict[int, Reads]],
    sizes: tuple[int, ...],
    rounds: int,
) -> list[str]:
    """Return the Markdown table of the list page against the bare Query, with the ratios."""
    header = " | ".join(f"{s:,}: median | p95 | CPU | requests / items" for s in sizes)
    lines = [
        f"| scenario | {header} |",
        "|---|" + "---:|---:|---:|---:|" * len(sizes),
    ]
    for name, by_size in samples.items():
        cells = []
        for size in sizes:
            values, counted = by_size[size], reads[name][size]
            cells.append(
                f"{statistics.median(values):.1f} ms | {percentile(values, 0.95):.1f} ms | "
                f"{statistics.median(cpu[name][size]):.1f} ms | "
                f"{counted.requests} / {counted.items}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [""]
    for name in (LIST_FRAGMENT, LIST_FULL):
        ratios = ", ".join(f"{_ratio(samples, name, s):.2f}× at {s:,}" for s in sizes)
        lines.append(f"- {name} median ÷ the bare Query median: {ratios} (target ≤ 2×).")
    for name in (LIST_FRAGMENT, LIST_FULL):
        ratios = ", ".join(f"{_ratio(cpu, name, s):.2f}× at {s:,}" for s in sizes)
        lines.append(f"- {name} CPU ÷ the bare Query's CPU (this process): {ratios}.")
    lines.append(
        f"- {rounds} rounds; in each, every scenario runs once at each size, so the page and "
        "its Query see the same noise (the machine is shared)."
    )
    return lines


def _ratio(samples: Samples, name: str, size: int) -> float:
    return statistics.median(samples[name][size]) / statistics.median(samples[BARE_QUERY][size])
