"""``@idempotent``: the ``Idempotency-Key`` header for the API's POST routes.

The same key with the same request (method, path and canonical JSON body) returns the first
response, with ``Idempotent-Replayed: true``, without running the route again. The same key with
a different request is a 422; while the first request still runs, a 409. Keys belong to the
merchant and live 24 hours. Successful (2xx) and validation (400, 422) answers are kept.

Any other answer (a 404, a 409, a 5xx) releases the key so that a retry of the same request runs
for real; a different request with that key is still a 422. A run may fail after it created
something (the payment is written, then storing its link times out): so the key's first claim
mints the id of the resource the request creates, and every run of it gets that same id from
``idempotent_resource_id()``. A retry then lands on the services' "same id, same resource" path
(the existing payment or order is returned) instead of creating a second one. A claim whose
worker crashed is taken over the same way once its 2-minute lease runs out.

Use it under the route decorator, on any POST that creates or changes something, and name what
the route creates with ``idempotent_resource_id()``::

    @bp.post("/orders")
    @idempotent
    def create_order():
        order = service.create_order(current_actor(), idempotent_resource_id(), fields)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from dashboard.core.ids import new_id
from dashboard.store.dynamo import StoreUnavailable
from dashboard.store.idempotency import (
    IdempotencyRecord,
    IdempotencyRepository,
    StoredResponse,
)
from dashboard.web.actor import current_actor
from dashboard.web.api.problems import Problem, ValidationProblem

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")
_KEPT_STATUSES = frozenset({400, 422})
_MAX_STORED_BODY = 300_000  # DynamoDB items stop at 400 KB
_RESOURCE_ID = "idempotent_resource_id"  # where this request's resource id is kept, in ``g``


class IdempotencyKeys:
    """The app's idempotency records and the clock that ages them."""

    def __init__(self, repository: IdempotencyRepository, clock: Callable[[], datetime]):
        self.repository = repository
        self.clock = clock


def request_fingerprint() -> str:
    """Return a digest of what makes two requests "the same": method, path, canonical body."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(
            json.loads(raw, parse_float=Decimal),
            sort_keys=True,
            separators=(",", ":"),
            default=lambda value: {"decimal": str(value)},
        )
    # Nested too deep for the parser, or a number Decimal cannot hold: not JSON either.
    except (ValueError, RecursionError, ArithmeticError):
        body = raw.decode("latin-1")  # not JSON: compare the bytes as they came
    canonical = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_resource_id() -> str:
    """Return the id to give what this request creates: the same on every run of one request.

    With an Idempotency-Key it is the id minted when the key was first claimed, so a retry after
    a failure names the resource the first run may have made; without one, a fresh UUIDv7 (kept
    for the rest of the request).
    """
    if _RESOURCE_ID not in g:
        setattr(g, _RESOURCE_ID, new_id())
    return g.get(_RESOURCE_ID)


def resumes_an_ended_run() -> bool:
    """Return True when this request retries, with its Idempotency-Key, a run that has ended
    without an answer: what that run left half-done (a link still being created) is ours to
    finish, since no other run of it is live."""
    return bool(g.get("idempotent_resumed"))


def keep_no_response_body() -> None:
    """Keep this request's answer out of the idempotency record: it holds a secret shown once.

    A successful answer then releases the key instead of storing the body (which would hold the
    secret in clear for 24 hours): a retry runs the route again, with the same resource id, and
    the route answers from what it stored (``resumes_an_ended_run()`` is then True).
    """
    g.idempotent_keep_no_body = True


def idempotent(view: Callable[..., Any]) -> Callable[..., Response]:
    """Make a POST route honour the Idempotency-Key header (see the module docstring)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return current_app.make_response(view(*args, **kwargs))
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationProblem(
                {HEADER: "Use 1 to 255 printable ASCII characters, such as a UUID."}, status=400
            )
        keys: IdempotencyKeys = current_app.extensions["api_idempotency"]
        user_id = current_actor().account_id
        fingerprint = request_fingerprint()
        claim = keys.repository.claim(user_id, key, fingerprint, keys.clock(), new_id())
        if claim.existing is not None:
            return _answer_for_taken_key(claim.existing, fingerprint)
        setattr(g, _RESOURCE_ID, claim.resource_id)
        g.idempotent_resumed = claim.resumed
        response = _run(view, *args, **kwargs)
        _settle(keys.repository, user_id, key, claim.token or "", response)
        return response

    return wrapper


def _run(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    # Errors become their problem response here, so that they can be kept or released too.
    try:
        return current_app.make_response(view(*args, **kwargs))
    except Exception as exc:  # handed to the blueprint's error handlers
        return current_app.make_response(current_app.handle_user_exception(exc))


def _settle(
    repository: IdempotencyRepository, user_id: str, key: str, token: str, response: Response
) -> None:
    body, status = response.get_data(as_text=True), response.status_code
    keep = (200 <= status < 300 or status in _KEPT_STATUSES) and len(body) <= _MAX_STORED_BODY
    if 200 <= status < 300 and g.get("idempotent_keep_no_body"):
        keep = False
    try:
        if keep:
            stored = StoredResponse(
                status=status,
                body=body,
                content_type=response.content_type or "application/json",
                location=response.headers.get("Location"),
            )
            if not repository.complete(user_id, key, token, stored):
                log.warning("Idempotency key claim was taken over before it completed")
        else:
            repository.release(user_id, key, token)
    except StoreUnavailable as exc:
        # The work is done; only its record failed. The claim's lease runs out and a retry
        # with this key will run again, as for a crash.
        log.error("Could not record the idempotent response: %s", exc)


def _answer_for_taken_key(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.fingerprint != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was used for a different request in the last 24 hours. "
            "Use a new key for a new request.",
            problem_type="idempotency-key-reused",
        )
    if existing.response is None:
        raise Problem(
            409,
            "Request in progress",
            "A request with this Idempotency-Key is still running. Retry in a moment.",
            problem_type="idempotency-key-in-use",
            headers={"Retry-After": "1"},
        )
    stored = existing.response
    response = current_app.response_class(
        stored.body, status=stored.status, content_type=stored.content_type
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers[REPLAYED_HEADER] = "true"
    return response
