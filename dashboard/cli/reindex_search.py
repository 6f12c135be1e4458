"""``flask --app app reindex-search``: index every word of the payments stored before it was so.

Search used to index only the first 8 words of a payment's reference and payer name. This
command writes the missing word items of every stored payment, merchant by merchant (the
merchants come from their registry and the payments from a Query of each merchant's partition:
no Scan). It prints counts and, after every page, the options that resume from there; writing
an item again is harmless, so stopping anywhere and running again loses nothing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.store.search_backfill import SearchBackfill


@click.command("reindex-search")
@with_appcontext
@click.option("--merchant", default=None, help="Only this merchant (default: every merchant).")
@click.option(
    "--resume-from", default=None, help="Start at this merchant (merchants run in id order)."
)
@click.option(
    "--after-payment", default=None, help="With --resume-from: skip up to this payment id."
)
def reindex_search_command(
    merchant: str | None, resume_from: str | None, after_payment: str | None
) -> None:
    """Write the search items of every stored payment and order, so any word of them is found."""
    if after_payment and not (resume_from or merchant):
        raise click.UsageError("--after-payment needs --resume-from (or --merchant)")
    store = current_app.extensions["store"]
    backfill = SearchBackfill(store.client, store.tables)
    merchants = [merchant] if merchant else store.rollups.merchants()
    first = merchant or resume_from
    if resume_from and not merchant:
        merchants = [m for m in merchants if m >= resume_from]
    total_payments = total_items = 0
    for current in merchants:
        payments = items = 0
        after = after_payment if current == first else None
        for page in backfill.backfill_merchant(current, after):
            payments += page.payments
            items += page.items_written
            if page.last_payment_id:
                click.echo(
                    f"  {current}: {payments} payment(s), {items} item(s) written; resume with "
                    f"--resume-from {current} --after-payment {page.last_payment_id}"
                )
        orders, order_items = backfill.backfill_orders(current)
        click.echo(
            f"{current}: done, {payments} payment(s), {items} search item(s) written; "
            f"{orders} order(s), {order_items} order word item(s) written"
        )
        total_payments += payments
        total_items += items
    click.echo(
        f"{len(merchants)} merchant(s), {total_payments} payment(s), "
        f"{total_items} search item(s) written."
    )
