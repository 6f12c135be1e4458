"""Time the orders list, a status tab and order search at 1,000 and 10,000 orders, side by side.

Each figure goes through the app (``GET /orders`` with a signed-in test client, the htmx
fragment rendered), next to the bare Queries the pages issue and the naive method (read every
order of the merchant, filter in Python). ``run_orders`` returns the report's Orders section.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from bench.orders import (
    COMMON_WORD,
    LIMITED_STATUSES,
    LIMITED_WORD,
    PREFIX,
    RARE_WORD,
    SIZES,
    ensure_loaded,
    has_word,
    synthetic_orders,
)
from bench.timing import Reads, counting_reads, percentile, side_by_side, signed_in_client
from dashboard.domain.orders import Order, OrderStatus
from dashboard.services.orders import MAX_SEARCH_MATCHES, OrderQuery
from dashboard.store.database import Store
from dashboard.store.dynamo import to_item
from dashboard.store.index_items import prefix_range
from dashboard.store.orders import order_from_item, order_items

BARE_LIST = "bare DynamoDB Query (26 orders, newest first)"
BARE_WORD = f"bare DynamoDB Query (word items of {RARE_WORD}, as search reads them)"
RARE = f"search: rare word ({RARE_WORD})"
LIMITED = f"search: word in {len(LIMITED_STATUSES)} orders at both sizes ({LIMITED_WORD})"
COMMON = f"search: common word ({COMMON_WORD})"
PREFIXED = f"search: word prefix ({PREFIX})"
NAIVE = f"naive: read all orders + filter in Python ({RARE_WORD})"

Results = dict[str, dict[int, list[float]]]


@dataclass(frozen=True)
class Scenario:
    """One timed row: its name, and how to make the action for an account of a given size."""

    name: str
    make: Callable[[int], Callable[[], object]]
    rounds: int | None = None  # None: the run's rounds
    warmup: int = 2


def run_orders(app: Flask, loader_store: Store, rounds: int, command: str) -> list[str]:
    """Load (once), check and time the orders scenarios; return the report's Orders section."""
    accounts = ensure_loaded(loader_store)
    samples = {size: list(synthetic_orders(accounts[size], size)) for size in SIZES}
    numbers = {size: number_searched(orders) for size, orders in samples.items()}
    check_searches(app, accounts, samples, numbers)
    client = app.extensions["store"].client
    results: Results = {}
    reads: dict[str, dict[int, Reads]] = {}
    print("Timing orders (ms, side by side)…", flush=True)
    for scenario in scenarios(app, accounts, numbers):
        actions = {size: scenario.make(size) for size in SIZES}
        reads[scenario.name] = {}
        for size, action in actions.items():
            with counting_reads(client) as counted:
                action()
            reads[scenario.name][size] = counted
        timings = side_by_side(actions, scenario.rounds or rounds, scenario.warmup)
        results[scenario.name] = timings
        medians = (f"{s:,}: {statistics.median(v):.1f} ms" for s, v in timings.items())
        print(f"  {scenario.name}: {', '.join(medians)}", flush=True)
    return report(results, reads, samples, rounds, command)


def scenarios(app: Flask, accounts: dict[int, str], numbers: dict[int, str]) -> list[Scenario]:
    """Return the timed rows: bare Queries, the list, a tab, four searches, the naive method."""
    store = app.extensions["store"]
    clients = {size: signed_in_client(app, user) for size, user in accounts.items()}

    def page(query: Callable[[int], str]) -> Callable[[int], Callable[[], object]]:
        def make(size: int):
            def action():
                response = clients[size].get(
                    f"/orders?{query(size)}", headers={"HX-Request": "true"}
                )
                assert response.status_code == 200, response.status_code

            return action

        return make

    def bare(size: int, prefix: str, limit: int, **extra):
        return lambda: store.client.query(
            TableName=store.tables.orders,
            KeyConditionExpression="userId = :u AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=to_item({":u": accounts[size], **prefix_range(prefix)}),
            ScanIndexForward=False,
            Limit=limit,
            **extra,
        )

    return [
        Scenario(BARE_LIST, lambda size: bare(size, "order#", 26)),
        Scenario("orders list, first page", page(lambda _size: "")),
        Scenario("status tab (paid)", page(lambda _size: "status=paid")),
        Scenario(
            BARE_WORD,
            lambda size: bare(
                size, f"word#{RARE_WORD}", MAX_SEARCH_MATCHES, ProjectionExpression="orderId"
            ),
        ),
        Scenario(RARE, page(lambda _size: f"q={RARE_WORD}")),
        Scenario(LIMITED, page(lambda _size: f"q={LIMITED_WORD}")),
        Scenario(COMMON, page(lambda _size: f"q={COMMON_WORD}")),
        Scenario(PREFIXED, page(lambda _size: f"q={PREFIX}")),
        Scenario("search: order number (ORD-…)", page(lambda size: f"q={numbers[size]}")),
        Scenario(
            NAIVE, lambda size: lambda: read_all_and_filter(store, accounts[size], RARE_WORD), 3, 1
        ),
    ]


def number_searched(orders: list[Order]) -> str:
    """Return the order number searched for: a paid order's from the middle of the account.

    Paid at both sizes, so both pages do the same work (a waiting order's row would also read
    its payment).
    """
    return next(o for o in orders[len(orders) // 2 :] if o.status is OrderStatus.PAID).number_label


def read_all_and_filter(store: Store, user_id: str, search: str) -> list[Order]:
    """The naive search: read every order of the merchant, keep those that match, newest first,
    one page of 25. It reads the orders' key range only (not their number and word items)."""
    request = {
        "TableName": store.tables.orders,
        "KeyConditionExpression": "userId = :u AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": to_item({":u": user_id, **prefix_range("order#")}),
    }
    matches = []
    while True:
        response = store.client.query(**request)
        orders = (order_from_item(item) for item in response["Items"])
        matches += [order for order in orders if has_word(order, search)]
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return sorted(matches, key=lambda order: order.order_id, reverse=True)[:25]


def check_searches(
    app: Flask, accounts: dict[int, str], samples: dict[int, list[Order]], numbers: dict[int, str]
) -> None:
    """Check that each search's first page is the one the loaded data implies, before timing."""
    service = app.extensions["order_service"]
    for size, user in accounts.items():
        for search in (RARE_WORD, LIMITED_WORD, COMMON_WORD, PREFIX, numbers[size]):
            if search == numbers[size]:
                expected = [o for o in samples[size] if o.number_label == search]
            else:
                expected = [o for o in reversed(samples[size]) if has_word(o, search)]
            page = service.list_orders(user, OrderQuery(search=search))
            got, want = [o.order_id for o in page.orders], [o.order_id for o in expected[:25]]
            if not got or got != want:
                raise SystemExit(f"{user}: {search!r} shows {len(got)} orders, not {len(want)}")


def report(
    results: Results,
    reads: dict[str, dict[int, Reads]],
    samples: dict[int, list[Order]],
    rounds: int,
    command: str,
) -> list[str]:
    """Return the Orders section of docs/benchmarks.md (below its heading and date line)."""
    small, large = SIZES
    items = {size: sum(len(order_items(o)) for o in orders) for size, orders in samples.items()}
    lines = [
        f"`{command}`: one merchant with {small:,} orders and one with {large:,} "
        f"({items[small]:,} and {items[large]:,} DynamoDB items: each order, its number item "
        "and one item per word, from `order_items`, as `OrderRepository.add` writes them), "
        "bulk-loaded once and verified by recount. Requests go through the app: "
        "`GET /orders?…` with a signed-in Flask test client, the htmx fragment (tabs, search "
        "box, up to 25 rows) rendered, no network. The sizes alternate in rounds "
        f"({rounds} rounds; 3 for the naive method). Requests and items read (items a Query "
        "scanned, or a GetItem/BatchGetItem returned) are counted on one request of each.",
        "",
        f"| scenario | {small:,}: median | p95 | {large:,}: median | p95 "
        f"| ratio {large // small}× data | requests / items read at {small:,} | at {large:,} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_size in results.items():
        a, b, r = by_size[small], by_size[large], reads[name]
        lines.append(
            f"| {name} | {statistics.median(a):.1f} ms | {percentile(a, 0.95):.1f} ms | "
            f"{statistics.median(b):.1f} ms | {percentile(b, 0.95):.1f} ms | "
            f"{_ratio(results, name, large, name, small):.2f} | "
            f"{r[small].requests} / {r[small].items:,} | {r[large].requests} / {r[large].items:,} |"
        )
    matching = {w: [sum(has_word(o, w) for o in samples[s]) for s in SIZES] for w in
                (RARE_WORD, LIMITED_WORD, COMMON_WORD, PREFIX)}  # fmt: skip
    lines += ["", f"| search | orders matching at {small:,} | at {large:,} |", "|---|---:|---:|"]
    lines += [f"| {word} | {a:,} | {b:,} |" for word, (a, b) in matching.items()]
    return [*lines, "", *notes(results, reads, matching)]


def notes(results: Results, reads: dict[str, dict[int, Reads]], matching: dict) -> list[str]:
    """Return what the figures say, with this run's numbers."""
    small, large = SIZES
    rare, common, prefix = matching[RARE_WORD], matching[COMMON_WORD], matching[PREFIX]

    def ratio(name: str) -> str:
        return f"{_ratio(results, name, large, name, small):.2f}"

    return [
        f"- Target: each page's median at {large:,} ÷ at {small:,} ≤ 1.5 (the ratio column), as "
        "for payments. The machine is shared (other tests run alongside), so p95s are noisy.",
        "- Search cost follows the matches, not the account. Like for like, the word in the same "
        f"{len(LIMITED_STATUSES)} orders of each account: ratio {ratio(LIMITED)}, "
        f"{_reads(reads[LIMITED])}. The rare word is in the same share of both accounts, so it matches "
        f"{rare[0]} orders at {small:,} and {rare[1]} at {large:,}: the Query of its word items "
        f"is one request either way (bare Query, ratio {ratio(BARE_WORD)}), then the page "
        f"fetches and renders every match (ratio {ratio(RARE)}; {_reads(reads[RARE])}). That growth stops at a page of "
        f"25 rows: the common word ({common[0]:,} and {common[1]:,} matches) shows 25 rows at "
        f"both sizes and reads at most {MAX_SEARCH_MATCHES} word items, ratio {ratio(COMMON)}.",
        f"- The prefix matches {prefix[0]:,} and {prefix[1]:,} orders: it reads "
        f"{reads[PREFIXED][small].items:,} and {reads[PREFIXED][large].items:,} items, its word "
        f"items capped at {MAX_SEARCH_MATCHES} (the page then says some are not shown), "
        f"ratio {ratio(PREFIXED)}: its cost follows the matches up to that cap.",
        "- A search page reads its candidate orders 26 at a time: 25 rows and one more, which "
        "only says whether there is a next page, in one BatchGetItem.",
        f"- The naive method ÷ the indexed search for the same word: "
        f"{_ratio(results, NAIVE, small, RARE, small):.1f}× at {small:,}, "
        f"{_ratio(results, NAIVE, large, RARE, large):.0f}× at {large:,}; it reads every order "
        f"({reads[NAIVE][small].items:,} and {reads[NAIVE][large].items:,} items), "
        "the index only the items the word leads to.",
        "- The list's second request is the BatchGetItem for the payments of orders waiting on "
        "a link (the status shown follows the payment). The bench loads orders only, so it finds "
        "none: one request either way. The paid tab has no waiting orders: no second request.",
    ]


def _reads(by_size: dict[int, Reads]) -> str:
    """Return e.g. "2 requests / 24 items at 1,000, the same at 10,000"."""
    small, large = (by_size[size] for size in SIZES)
    first = f"{small.requests} requests / {small.items} items at {SIZES[0]:,}"
    if small == large:
        return f"{first}, the same at {SIZES[1]:,}"
    return f"{first}, {large.requests} / {large.items} at {SIZES[1]:,}"


def _ratio(results: Results, slow: str, slow_size: int, fast: str, fast_size: int) -> float:
    return statistics.median(results[slow][slow_size]) / statistics.median(results[fast][fast_size])
