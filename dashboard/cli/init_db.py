"""``flask --app app init-db``: create or update every table and index, idempotently."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.store.database import Store
from dashboard.store.dynamo import StoreUnavailable


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or update the DynamoDB tables and indexes, and wait until they are ACTIVE."""
    store: Store = current_app.extensions["store"]
    try:
        done = store.ensure_tables()
    except StoreUnavailable as exc:
        raise click.ClickException(f"DynamoDB is not reachable: {exc}") from exc
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in done or ["tables and indexes are up to date"]:
        click.echo(line)
