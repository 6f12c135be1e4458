"""``flask --app app rebuild-stats``: recount the rollups from the payments and repair them.

``--orders`` does the same for the order rollups (the Orders list's tiles), from the orders, and
gives orders stored before the currency indexes the key those index them by.

How a deployment backfills rollups (for payments stored before they existed) or repairs them.
It adds the difference between the recount and what is stored, with atomic ADD updates, so the
live app may keep writing meanwhile; a payment that changes during the run may leave a small
difference, which a second run repairs.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.services.order_rollup_recount import recount_order_rollups
from dashboard.services.rollup_recount import recount_rollups
from dashboard.store.database import Store


@click.command("rebuild-stats")
@with_appcontext
@click.option("--user", "user_id", default=None, help="One merchant (default: every merchant).")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
@click.option("--orders", is_flag=True, help="The order rollups, recounted from the orders.")
def rebuild_stats_command(user_id: str | None, dry_run: bool, orders: bool) -> None:
    """Recompute the statistics rollups from the payments, report and repair differences."""
    store = current_app.extensions["store"]
    merchants = [user_id] if user_id else store.rollups.merchants()
    if orders:
        _rebuild_order_rollups(store, merchants, dry_run)
        return
    repaired = 0
    for merchant in merchants:
        with click.progressbar(length=0, label=f"Recounting {merchant}", show_pos=True) as bar:
            differences = recount_rollups(store.payments, store.rollups, merchant, bar)
        for difference in differences:
            click.echo(f"  {difference.day} {difference.currency}: {difference.deltas}")
            if not dry_run:
                store.rollups.add_to(
                    merchant, difference.day, difference.currency, difference.deltas
                )
                repaired += 1
        if not differences:
            click.echo(f"  {merchant}: rollups match the payments")
    action = "would repair" if dry_run else "repaired"
    click.echo(f"{len(merchants)} merchant(s) checked; {action} {repaired} rollup(s).")


def _rebuild_order_rollups(store: Store, merchants: list[str], dry_run: bool) -> None:
    """Recount each account's order rollups from its orders; repair with atomic ADDs."""
    repaired = indexed = 0
    for merchant in merchants:
        with click.progressbar(length=0, label=f"Recounting {merchant}", show_pos=True) as bar:
            recount = recount_order_rollups(store.orders, merchant, bar)
        for difference in recount.differences:
            click.echo(f"  {difference.hour} {difference.currency}: {difference.deltas}")
            repaired += 1
            if not dry_run:
                store.orders.rollups.add_to(
                    merchant, difference.hour, difference.currency, difference.deltas
                )
        if recount.missing_currency_key:
            click.echo(
                f"  {merchant}: {len(recount.missing_currency_key)} order(s) "
                "not yet in the currency indexes"
            )
            indexed += len(recount.missing_currency_key)
            if not dry_run:
                for order in recount.missing_currency_key:
                    store.orders.add_currency_key(order)
        if not recount.differences:
            click.echo(f"  {merchant}: {recount.orders} order(s); rollups match the orders")
    action = "would repair" if dry_run else "repaired"
    click.echo(
        f"{len(merchants)} account(s) checked; {action} {repaired} order rollup(s); "
        f"{action} {indexed} order(s) in the currency indexes."
    )
