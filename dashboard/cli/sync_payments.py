"""``flask --app app sync-payments``: the polling safety net behind the webhooks."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.core.clock import utc_now
from dashboard.services.payments import SYNC_AFTER

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """Return ``10m``, ``2h``, ``1d`` or ``30s`` as a timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise click.BadParameter("use a number and s, m, h or d, e.g. 10m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@click.command("sync-payments")
@click.option(
    "--older-than",
    default=f"{int(SYNC_AFTER.total_seconds() // 60)}m",
    show_default=True,
    help="Skip payments updated since (a webhook may still be on its way).",
)
@with_appcontext
def sync_payments_command(older_than: str) -> None:
    """Poll the provider for unfinished payments of every merchant and apply what changed."""
    cutoff = utc_now() - parse_duration(older_than)
    summary = current_app.extensions["payment_service"].sync_open_payments(cutoff)
    for payment_id, before, after in summary.changed:
        click.echo(f"  {payment_id}: {before.label} → {after.label}")
    for payment_id, error in summary.errors:
        click.echo(f"  {payment_id}: could not sync ({error})", err=True)
    click.echo(
        f"Checked {summary.checked} open payment(s): {len(summary.changed)} changed, "
        f"{len(summary.errors)} failed, {summary.skipped} of another provider skipped."
    )
    if summary.errors:
        raise SystemExit(1)


@click.command("backfill-open-payments")
@click.option("--user", "user_id", help="Only this merchant (default: every merchant).")
@with_appcontext
def backfill_open_payments_command(user_id: str | None) -> None:
    """Add payments stored before they counted as open to the index that sync-payments reads.

    Run once after upgrading; resumable: an interrupted run is simply run again.
    """
    service = current_app.extensions["payment_service"]
    merchants = [user_id] if user_id else current_app.extensions["store"].rollups.merchants()
    total_seen = total_added = 0
    for merchant in merchants:
        seen, added = service.add_missing_to_open_index(merchant)
        total_seen, total_added = total_seen + seen, total_added + added
        if added:
            click.echo(f"  {merchant}: {added} payment(s) added")
    click.echo(
        f"{len(merchants)} merchant(s): looked at {total_seen} payment(s) outside the open "
        f"index, added {total_added}."
    )
