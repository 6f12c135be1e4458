"""``make bench``: time the payments list, filters, search, export and creation on DynamoDB Local
with one merchant holding 1,000 and one holding 100,000 payments, side by side in one run; then
the orders list, a status tab and order search at 1,000 and 10,000 orders (``bench/orders_run.py``).

The accounts are bulk-loaded once into ``var/bench-dynamodb`` and kept between runs. Each figure
is the median (and p95) of repeated requests through the real app (Flask test client, HTML
fragment rendered), next to the bare DynamoDB Query the list issues and the original method
(read every payment of the merchant, filter in Python). Results go to docs/benchmarks.md;
``--only payments`` or ``--only orders`` runs (and rewrites) one part and keeps the other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from bench.list_run import list_report, newest_payments_query, run_list
from bench.loader import load_account, rollup_total
from bench.loader import recount as count_payments
from bench.orders_run import run_orders
from bench.stats_run import STATS_HEADING, run_stats, stats_report
from bench.timing import machine, percentile, side_by_side, signed_in_client
from bench.webhooks_run import WEBHOOKS_HEADING, run_webhooks
from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.local.services import PROJECT_ROOT, free_port, start_dynamodb_local
from dashboard.services.payments import NewPaymentLink
from dashboard.store.database import Store
from dashboard.store.dynamo import make_client
from dashboard.store.payments import payment_from_item

SIZES = (1_000, 100_000)
DOCS = PROJECT_ROOT / "docs" / "benchmarks.md"
DATA_DIR = PROJECT_ROOT / "var" / "bench-dynamodb"
ORDERS_HEADING = "## Orders"
LIST_HEADING = "## List page and its Query"
NOTES_HEADING = "## Notes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--output", type=Path, default=DOCS)
    parser.add_argument(
        "--only",
        choices=("payments", "list", "stats", "orders", "webhooks"),
        help="run one part only",
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=SIZES,
        help="payments per account for --only list, e.g. 1000,10000 (default 1000,100000)",
    )
    args = parser.parse_args()
    command = "make bench" + (f' BENCH_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")

    dynamodb = start_dynamodb_local(
        free_port(), DATA_DIR, log_path=PROJECT_ROOT / "var" / "bench-dynamodb.log"
    )
    try:
        app, loader_store = bench_app(dynamodb.url)
        if args.only in (None, "payments"):
            run_payments(app, loader_store, args.repeats, args.output)
        if args.only in (None, "list"):
            sizes = args.sizes if args.only == "list" else SIZES
            write_list_section(app, loader_store, sizes, args.repeats, args.output, command)
            print(f"Wrote the list-page section of {args.output}")
        if args.only in (None, "stats"):
            write_stats_section(app, loader_store, args.repeats, args.output, command)
            print(f"Wrote the statistics section of {args.output}")
        if args.only in (None, "orders"):
            orders = run_orders(app, loader_store, args.repeats, command)
            write_orders_section(args.output, orders)
            print(f"Wrote the Orders section of {args.output}")
        if args.only in (None, "webhooks"):
            write_webhooks_section(app, args.output, command)
            print(f"Wrote the webhooks section of {args.output}")
        return 0
    finally:
        dynamodb.stop()


def write_webhooks_section(app: Flask, output: Path, command: str) -> None:
    """Measure the delivery worker against a local receiver; write its section of the report."""
    rows = run_webhooks(app)
    body = [
        WEBHOOKS_HEADING,
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "",
        "One delivery worker (`dashboard/services/deliveries.py`) on DynamoDB Local, sending to "
        "a receiver on 127.0.0.1 that answers 200 at once (`bench/webhooks_run.py`). "
        "Throughput counts the whole path of each event: fan-out (read the event, write its "
        "delivery and take it off the queue in one transaction) and sending (claim, sign, POST, "
        "record). The delay runs the worker on its own thread as production does (a 0.5 s pause "
        "when idle) and pays links one at a time at random moments: from the completion being "
        "written to the receiver reading `payment.completed`.",
        "",
        "| measure | | |",
        "|---|---|---|",
        *rows,
        "",
    ]
    text = output.read_text() if output.exists() else "# Benchmarks\n"
    output.write_text(_replace_section(text, WEBHOOKS_HEADING, "\n".join(body)))


def bench_app(endpoint: str) -> tuple[Flask, Store]:
    """Return the app on the bench tables, and a store for bulk loads (patient, retrying)."""
    # Bulk loads keep DynamoDB Local busy: give its answers time, and retry what times out.
    loader_client = make_client("eu-west-2", endpoint, max_attempts=10, read_timeout=120)
    app = create_app(
        {
            "APP_ENV": "test",
            "SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
            "DYNAMODB_ENDPOINT": endpoint,
            "DYNAMODB_TABLE_PREFIX": "bench-",
        }
    )
    loader_store = Store(loader_client, app.extensions["store"].tables)
    loader_store.ensure_tables()
    return app, loader_store


def load_accounts(loader_store: Store, sizes: tuple[int, ...]) -> dict[int, str]:
    """Return the bench merchant of each size, bulk-loading (once) and recounting each.

    A recount reads every payment (minutes at 100,000 on a busy machine), so an account is
    recounted when it is loaded; later runs find it in ``verified.json`` beside the data (gone
    with it) and check only its rollups, which the load writes last.
    """
    verified_file = DATA_DIR / "verified.json"
    verified = json.loads(verified_file.read_text()) if verified_file.exists() else {}
    accounts = {}
    for size in sizes:
        user = f"bench-merchant-{size}"
        if verified.get(user) == size and rollup_total(loader_store, user) == size:
            accounts[size] = user
            continue
        have = count_payments(loader_store, user)
        if have > size:
            sys.exit(f"{user} holds {have} payments, not {size}: delete var/bench-dynamodb")
        if have < size or rollup_total(loader_store, user) != size:
            # A first run, or one that was interrupted: the load is repeatable, so run it again.
            print(f"Loading {size:,} payments for {user} (kept in var/bench-dynamodb)…", flush=True)
            started = time.perf_counter()
            load_account(
                loader_store,
                user,
                size,
                progress=lambda n: (
                    print(f"  {n:,} written", flush=True) if n % 10_000 == 0 else None
                ),
            )
            print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        recounted, rolled_up = count_payments(loader_store, user), rollup_total(loader_store, user)
        if recounted != size or rolled_up != size:
            sys.exit(f"{user}: recount {recounted}, rollups {rolled_up}, expected {size}")
        verified[user] = size
        verified_file.write_text(json.dumps(verified))
        accounts[size] = user
    print("Accounts verified by recount: " + ", ".join(f"{s:,}" for s in sizes), flush=True)
    return accounts


def write_list_section(
    app: Flask, loader_store: Store, sizes: tuple[int, ...], rounds: int, output: Path, command: str
) -> None:
    """Time the list page beside its bare Query and write that section of the report."""
    accounts = load_accounts(loader_store, sizes)
    clients = {size: (user, signed_in_client(app, user)) for size, user in accounts.items()}
    print("Timing the list page beside its Query (ms, side by side)…", flush=True)
    samples, cpu, reads = run_list(app, clients, rounds)
    body = [
        LIST_HEADING,
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "",
        "`GET /payments` with a signed-in Flask test client (one person in one account), no "
        "filters, next to the bare Query of its 26 newest payments. Requests and items read "
        "(items a Query scanned, or a GetItem/BatchGetItem returned) are counted on one request "
        "of each; the session and membership reads are part of the page's. CPU is this "
        "process's CPU time per request, every thread included (the page reads its status "
        "counts, and the full page the header's account list, on side threads).",
        "",
        *list_report(samples, cpu, reads, sizes, rounds),
        "",
    ]
    text = output.read_text() if output.exists() else "# Benchmarks\n"
    output.write_text(_replace_section(text, LIST_HEADING, "\n".join(body)))


def write_stats_section(
    app: Flask, loader_store: Store, rounds: int, output: Path, command: str
) -> None:
    """Time the 90-day statistics view at 1,000 and 100,000 payments; write its section."""
    print("Timing the statistics view over hour rollups (side by side)…", flush=True)
    samples, reads, hour_items = run_stats(app, loader_store, SIZES, rounds)
    body = [
        STATS_HEADING,
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "",
        "`GET /stats?days=90` with a signed-in Flask test client, for accounts of 1,000 and "
        "100,000 payments created over the last 180 days (so the period before the view's is as "
        "busy as the view's). The statistics read only rollups, so these accounts hold only the "
        "hour, day and all-time rollup items of those payments, summed and written directly "
        "(`bench/stats_run.py`), not the payments. Requests and items read are counted on one "
        "request of each.",
        "",
        *stats_report(samples, reads, hour_items, SIZES, rounds),
        "",
    ]
    text = output.read_text() if output.exists() else "# Benchmarks\n"
    output.write_text(_replace_section(text, STATS_HEADING, "\n".join(body)))


def _replace_section(text: str, heading: str, section: str) -> str:
    """Return ``text`` with its ``heading`` section replaced (or put before the Orders one)."""
    start = text.find(f"\n{heading}\n")
    if start != -1:
        end = text.find("\n## ", start + 1)
        rest = text[end + 1 :] if end != -1 else ""
        return text[: start + 1] + section + ("\n" + rest if rest else "")
    before, orders = _split_orders_section(text)
    return before.rstrip("\n") + "\n\n" + section + ("\n" + orders if orders else "")


def run_payments(app: Flask, loader_store: Store, repeats: int, output: Path) -> None:
    """Load (once), time and report the payments scenarios."""
    store = app.extensions["store"]
    accounts = load_accounts(loader_store, SIZES)

    results: dict[str, dict[int, list[float]]] = {}

    def measure(name: str, make_action: Callable[[str, int], Callable[[], object]], reps=repeats):
        # Side by side: the sizes alternate in rounds, so a noisy moment hits both alike.
        actions = {size: make_action(accounts[size], size) for size in SIZES}
        results[name] = side_by_side(actions, reps)
        print(
            f"  {name}: "
            + ", ".join(f"{s:,}: {statistics.median(v):.1f} ms" for s, v in results[name].items()),
            flush=True,
        )

    clients = {user: signed_in_client(app, user) for user in accounts.values()}
    sample_ids = {
        user: payment_from_item(
            store.client.query(
                TableName=store.tables.payments,
                KeyConditionExpression="userId = :u",
                ExpressionAttributeValues={":u": {"S": user}},
                Limit=1,
            )["Items"][0]
        ).payment_id
        for user in accounts.values()
    }

    def page(query: str):
        def make(user: str, _size: int):
            client = clients[user]

            def action():
                response = client.get(f"/payments?{query}", headers={"HX-Request": "true"})
                assert response.status_code == 200, response.status_code

            return action

        return make

    def bare_query(user: str, _size: int):
        return lambda: newest_payments_query(store, user)

    print("Timing (ms, side by side)…", flush=True)
    measure("bare DynamoDB Query (26 items, CreatedAtIndex)", bare_query)
    measure("list page", page(""))
    measure("status filter (Failed)", page("status=failed"))
    measure("date filter (7 days)", page("range=7d"))
    measure("search: reference word (invoice)", page("q=invoice"))
    measure("search: word prefix (cons)", page("q=cons"))
    measure("search: amount (12.50)", page("q=12.50"))
    measure(
        "search: payment ID prefix",
        lambda user, size: page(f"q={sample_ids[user][:13]}")(user, size),
    )

    def export(user: str, size: int):
        client = clients[user]

        def action():
            # 1,000 rows of the account: the newest 1,000 are the last ~0.9 days at 100k.
            response = client.get(
                "/payments/export.csv?range=90d"
                if size == 1000
                else "/payments/export.csv?range=today"
            )
            rows = response.get_data(as_text=True).count("\n") - 1
            assert rows > 0

        return action

    measure("export CSV (all rows of the filter)", export, reps=max(3, repeats // 6))

    def create(user: str, size: int):
        service = app.extensions["payment_service"]

        def action():
            with app.test_request_context(base_url="http://127.0.0.1:5000"):
                service.create_payment_link(
                    Actor.system(f"bench-creator-{size}"),
                    NewPaymentLink(new_id(), 1250, "GBP", "Invoice 42", payer_name="Ann Lee"),
                )

        return action

    measure("create a payment link (payment + index + rollups)", create)

    def original(user: str, _size: int):
        def action():
            # The original design: read every payment of the merchant, filter in Python.
            request = {
                "TableName": store.tables.payments,
                "KeyConditionExpression": "userId = :u",
                "ExpressionAttributeValues": {":u": {"S": user}},
            }
            matches = []
            while True:
                response = store.client.query(**request)
                matches += [
                    item
                    for item in response["Items"]
                    if "invoice" in item["reference"]["S"].lower()
                ]
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            matches.sort(key=lambda item: item["createdAt"]["S"], reverse=True)
            return matches[:25]

        return action

    measure("original: read all + filter in Python (invoice)", original, reps=3)

    def stats_view(fragment: bool):
        def make(user: str, _size: int):
            client = clients[user]
            headers = {"HX-Request": "true"} if fragment else {}

            def action():
                response = client.get("/stats?days=90", headers=headers)
                assert response.status_code == 200, response.status_code

            return action

        return make

    measure("statistics, 90 days: full page", stats_view(fragment=False))
    measure("statistics, 90 days: htmx fragment", stats_view(fragment=True))

    def original_stats(user: str, _size: int):
        def action():
            # The original: read every payment created in the range, aggregate in Python.
            request = {
                "TableName": store.tables.payments,
                "IndexName": "CreatedAtIndex",
                "KeyConditionExpression": "userId = :u AND createdAt >= :lo",
                "ExpressionAttributeValues": {":u": {"S": user}, ":lo": {"S": "2000-01-01"}},
            }
            totals: dict = {}
            while True:
                response = store.client.query(**request)
                for item in response["Items"]:
                    key = (item["createdAt"]["S"][:10], item["currency"]["S"], item["status"]["S"])
                    totals[key] = totals.get(key, 0) + int(item["amountMinor"]["N"])
                if "LastEvaluatedKey" not in response:
                    return totals
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        return action

    measure("original statistics: read all payments in range + aggregate", original_stats, reps=3)

    items_read = {size: stats_items_read(store, clients[user]) for size, user in accounts.items()}
    print(f"  statistics items read per view: {items_read}", flush=True)

    write_report(results, output, repeats, items_read)
    print(f"Wrote {output}")


def stats_items_read(store, client) -> int:
    """Return how many DynamoDB items one 90-day statistics view reads."""
    read = []

    def count(parsed, **_kwargs):
        read.append(parsed.get("Count", 1 if "Item" in parsed else 0))

    events = store.client.meta.events
    events.register("after-call.dynamodb", count)
    try:
        client.get("/stats?days=90", headers={"HX-Request": "true"})
    finally:
        events.unregister("after-call.dynamodb", count)
    return sum(read)


def write_report(
    results: dict[str, dict[int, list[float]]], output: Path, repeats: int, items_read: dict
) -> None:
    small, large = SIZES
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "",
        f"One merchant with {small:,} payments and one with {large:,}, bulk-loaded with the "
        "same items the app writes and verified by recount. Requests go through the app "
        "(Flask test client, htmx fragment rendered, no network). The sizes alternate in "
        f"rounds ({repeats} rounds; fewer for export and the original method), so both see "
        "the same noise; the machine is shared, so ratios matter more than absolute times.",
        "",
        f"| scenario | {small:,}: median | p95 | {large:,}: median | p95 | ratio {large // small:,}× data |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, by_size in results.items():
        a, b = by_size[small], by_size[large]
        lines.append(
            f"| {name} | {statistics.median(a):.1f} ms | {percentile(a, 0.95):.1f} ms | "
            f"{statistics.median(b):.1f} ms | {percentile(b, 0.95):.1f} ms | "
            f"{statistics.median(b) / statistics.median(a):.2f} |"
        )
    bare = results["bare DynamoDB Query (26 items, CreatedAtIndex)"]
    listing = results["list page"]
    original = results["original: read all + filter in Python (invoice)"]
    search = results["search: reference word (invoice)"]
    lines += [
        "",
        "## Targets",
        "",
        f"- List page median ÷ the bare Query it issues: "
        f"{statistics.median(listing[small]) / statistics.median(bare[small]):.2f}× at {small:,}, "
        f"{statistics.median(listing[large]) / statistics.median(bare[large]):.2f}× at {large:,} "
        "(target ≤ 2×; the page also reads the status counts and renders HTML).",
        f"- Page queries at {large:,} ÷ at {small:,}: see the last column (target ≤ 1.5).",
        f"- The original method ÷ indexed search for the same word: "
        f"{statistics.median(original[small]) / statistics.median(search[small]):.1f}× at {small:,}, "
        f"{statistics.median(original[large]) / statistics.median(search[large]):.0f}× at {large:,}.",
        "- Export: at 1,000 payments the whole 90 days (1,000 rows); at 100,000 only today's "
        "payments (a few hundred rows), so that row is not a like-for-like ratio: export cost "
        "follows the rows exported, not the account.",
        f"- Statistics, 90 days: items read per view {items_read[small]} at {small:,} and "
        f"{items_read[large]} at {large:,} (limit: 24 hours × 90 days × 2 currencies × 2 periods + a few = 8,644; only hours "
        "holding a payment have an item); "
        "the original method ÷ the fragment: "
        f"{_ratio(results, 'original statistics: read all payments in range + aggregate', 'statistics, 90 days: htmx fragment', small):.1f}× at {small:,}, "
        f"{_ratio(results, 'original statistics: read all payments in range + aggregate', 'statistics, 90 days: htmx fragment', large):.0f}× at {large:,}.",
        "",
    ]
    output.parent.mkdir(exist_ok=True)
    payments_part, orders_part = _split_orders_section(
        output.read_text() if output.exists() else ""
    )
    # The hand-written notes under the payments figures explain them: keep them too.
    notes = _notes_section(payments_part)
    kept = "\n".join(part for part in (notes, orders_part) if part)
    output.write_text("\n".join(lines) + (f"\n{kept}" if kept else ""))


def write_orders_section(output: Path, body: list[str]) -> None:
    """Write the Orders section (last in the file), keeping the rest of the file as it is."""
    before = _split_orders_section(output.read_text() if output.exists() else "# Benchmarks\n")[0]
    section = [
        ORDERS_HEADING,
        "",
        f"Produced on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.",
        "",
        *body,
    ]
    output.parent.mkdir(exist_ok=True)
    output.write_text(before.rstrip("\n") + "\n\n" + "\n".join(section) + "\n")


def _split_orders_section(text: str) -> tuple[str, str]:
    """Return the text before the Orders section, and the section (to the end of the file)."""
    start = text.find(f"\n{ORDERS_HEADING}\n")
    return (text, "") if start == -1 else (text[: start + 1], text[start + 1 :])


def _notes_section(payments_part: str) -> str:
    """Return the hand-written ``## Notes`` of the payments part (to its end), or ""."""
    start = payments_part.find(f"\n{NOTES_HEADING}\n")
    return "" if start == -1 else payments_part[start + 1 :].rstrip("\n") + "\n"


def _ratio(results, slow: str, fast: str, size: int) -> float:
    return statistics.median(results[slow][size]) / statistics.median(results[fast][size])


if __name__ == "__main__":
    sys.exit(main())
