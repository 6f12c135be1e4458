"""``flask --app app rebuild-stats``: recount the rollups from the payments and repair them.

How a deployment backfills rollups (for payments stored before they existed) or repairs them.
It adds the difference between the recount and what is stored, with atomic ADD updates, so the
live app may keep writing meanwhile; a payment that changes during the run may leave a small
difference, which a second run repairs.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.services.rollup_recount import recount_rollups


@click.command("rebuild-stats")
@with_appcontext
@click.option("--user", "user_id", default=None, help="One merchant (default: every merchant).")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
def rebuild_stats_command(user_id: str | None, dry_run: bool) -> None:
    """Recompute the statistics rollups from the payments, report and repair differences."""
    store = current_app.extensions["store"]
    merchants = [user_id] if user_id else store.rollups.merchants()
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
