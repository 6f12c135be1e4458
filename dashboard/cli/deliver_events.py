"""``flask --app app deliver-events``: the outbound webhook worker, as its own process.

It fans new events out to the endpoints that want them and sends what is due, until stopped
(Ctrl-C or SIGTERM, which lets the attempt in flight finish). Several may run at once, on one
machine or many: a claimed delivery has a lease. ``make run`` runs one beside the app instead.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("deliver-events")
@click.option("--once", is_flag=True, help="Run one round (fan out, send what is due) and exit.")
@with_appcontext
def deliver_events_command(once: bool) -> None:
    """Deliver webhook events: fan out new events and send due deliveries, until stopped."""
    worker = current_app.extensions["delivery_worker"]
    if once:
        done = worker.run_once()
        click.echo(
            f"Fanned out {done.fanned_out} event(s); {done.delivered} delivered, "
            f"{done.failed} failed (retried later), {done.lost_races} left to other workers."
        )
        return
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"Stopping after the attempt in flight ({signal.Signals(signum).name}).")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo(f"Delivering webhook events (worker {worker.worker_id}); Ctrl-C stops.")
    worker.run_forever(stop)
