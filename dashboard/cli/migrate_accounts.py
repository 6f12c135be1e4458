"""``flask --app app migrate-accounts``: give every merchant made before accounts its account.

Before accounts and people were told apart, a merchant was one person and its data was stored
under that person's ``sub``. This command writes, for every merchant in the ``#merchants``
registry, the account item (its id stays that ``sub``, so no payment, order, key or other item
is rewritten), its Owner membership and the person, each only where it is missing: running it
again changes nothing, and a run stopped anywhere is finished by running it again (or with
``--resume-from``). A person whose data is outside the registry (only orders or API keys) is
adopted the same way at their next sign-in.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.services.accounts import AccountService


@click.command("migrate-accounts")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count what would be written; write nothing.")
@click.option(
    "--resume-from", default=None, help="Start at this merchant (merchants run in id order)."
)
def migrate_accounts_command(dry_run: bool, resume_from: str | None) -> None:
    """Write the account and Owner membership of every merchant in the registry."""
    store = current_app.extensions["store"]
    accounts: AccountService = current_app.extensions["accounts"]
    issuer = current_app.extensions["settings"].oidc_issuer
    merchants = sorted(store.rollups.merchants())
    if resume_from:
        merchants = [m for m in merchants if m >= resume_from]
    migrated = already = 0
    for done, merchant in enumerate(merchants, start=1):
        counts = accounts.migrate(issuer, [merchant], dry_run=dry_run)
        migrated += counts.migrated
        already += counts.already_done
        if done % 100 == 0:
            click.echo(f"  {done} merchant(s) so far; resume with --resume-from {merchant}")
    verb = "would migrate" if dry_run else "migrated"
    click.echo(
        f"{len(merchants)} merchant(s): {verb} {migrated}, {already} already had their account."
    )
