"""Outbound webhooks on DynamoDB Local: how many deliveries one worker sends per second to a
local receiver, and how long a completed payment takes to reach that receiver.

* **Throughput**: ``EVENTS`` links are created (one ``payment.created`` event each) for an
  account with one endpoint wanting every event; then one worker runs rounds until every event
  is delivered. The time covers fan-out (read the event, write its delivery, take it off the
  queue) and sending (claim, sign, POST, record), as the worker does them.
* **Delay**: the worker runs on its own thread as in production (``run_forever``, pausing
  0.5 s when idle); links are paid one at a time, at random moments, and each delay is the time
  from the payment's completion being written to the receiver reading its
  ``payment.completed``.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Flask

from bench.timing import percentile
from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor, Person
from dashboard.services.payments import NewPaymentLink

EVENTS = 300
PAYMENTS = 40
WEBHOOKS_HEADING = "## Outbound webhooks"


class _Receiver(ThreadingHTTPServer):
    """A receiver on 127.0.0.1 that answers 200 and notes when each event arrived."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived: dict[str, float] = {}


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.arrived[f"{body['type']}:{body['data']['id']}"] = time.perf_counter()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def run_webhooks(app: Flask) -> list[str]:
    """Measure one worker's deliveries per second and the delay to delivery; return the report."""
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True).start()
    account = f"bench-webhooks-{new_id()[:8]}"
    actor = Actor.for_person(account, Person("bench", account))
    app.extensions["accounts"].migrate("bench", [account])
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    app.extensions["webhook_endpoints"].add(actor, None, url, "all")
    payments = app.extensions["payment_service"]
    provider = app.extensions["payment_provider"]
    worker = app.extensions["delivery_worker"]
    try:
        with app.test_request_context():
            print(f"Creating {EVENTS} links (one payment.created event each)…", flush=True)
            for _ in range(EVENTS):
                payments.create_payment_link(actor, _link())
            started = time.perf_counter()
            delivered = 0
            while delivered < EVENTS:
                done = worker.run_once()
                delivered += done.delivered
                if not done.busy:
                    break
            elapsed = time.perf_counter() - started
            per_second = delivered / elapsed

            print(f"Paying {PAYMENTS} links one at a time, the worker on its thread…", flush=True)
            stop = threading.Event()
            thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
            thread.start()
            delays = []
            for _ in range(PAYMENTS):
                link = payments.create_payment_link(actor, _link())
                time.sleep(random.uniform(0, 0.6))  # noqa: S311 - any moment of the worker's pause
                for event in provider.pay(link.provider_link_id):
                    payments.apply_provider_event(event)
                completed = time.perf_counter()
                key = f"payment.completed:{link.payment_id}"
                while key not in receiver.arrived and time.perf_counter() - completed < 30:
                    time.sleep(0.005)
                delays.append((receiver.arrived[key] - completed) * 1000)
            stop.set()
            thread.join(15)
    finally:
        receiver.shutdown()
        receiver.server_close()
    return [
        f"| one worker, {EVENTS} events fanned out and delivered | {elapsed:.1f} s | "
        f"**{per_second:.0f} deliveries/s** |",
        f"| payment completed → delivered, {PAYMENTS} payments | median "
        f"**{statistics.median(delays):.0f} ms** | p95 **{percentile(delays, 0.95):.0f} ms** |",
    ]


def _link() -> NewPaymentLink:
    return NewPaymentLink(
        payment_id=new_id(), amount_minor=1250, currency="GBP", reference="Webhook bench"
    )
