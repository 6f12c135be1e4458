"""The JSON API under ``/api/v1``: payments, statistics and health, for scripts and other systems.

How a request goes
    ``blueprint.py`` authenticates every request (``auth.py``: an API key as
    ``Authorization: Bearer``, or the browser session, whose writes need the CSRF token) and
    maps every error to RFC 9457 problem details (``problems.py``). Flask-Limiter counts requests
    per API key or merchant (``API_RATE_LIMIT``), kept in ``RATELIMIT_STORAGE_URI`` (Redis in
    production, so every process counts together). Routes parse input, call a service, answer
    JSON.

Adding an endpoint (the orders endpoints, say)
    1. Write the routes in a resource module, e.g. ``dashboard/api/orders.py``, on ``bp`` from
       ``dashboard.web.api.blueprint``. Use ``current_caller().user_id`` as the merchant and
       ``inputs.json_request_body()`` / ``inputs.page_size()`` to read bodies and ``limit``; raise
       ``ValidationProblem(errors)`` for refused input, ``Problem(...)`` for other answers, or
       let the service's domain exceptions through and map them once in ``problems.HANDLERS``
       (e.g. ``(OrderNotFound, ...)`` answering a 404 problem).
    2. Put ``@idempotent`` (``dashboard.web.api.idempotency``) under the route decorator of every
       POST (``/orders``, ``/orders/{id}/payment-link``): it honours ``Idempotency-Key``. It
       works for PATCH and DELETE too; pass ``idempotent=True`` to ``endpoint`` wherever used.
       A route that creates something names it ``idempotent_resource_id()``, never a fresh id:
       a retry after a failed run then gets the resource that run may have made.
    3. In the same module define ``OPENAPI_TAG`` ({"name", "description"}),
       ``openapi_schemas()`` (component schemas by name, e.g. Order, OrderList, NewOrder) and
       ``openapi_endpoints()``: one ``openapi.endpoint(method, path, operationId, summary,
       tag=..., parameters=..., body=json_body(...), responses={...}, idempotent=True)`` per
       route, with the path below /api/v1 in OpenAPI form (``/orders/{order_id}``).
       ``endpoint`` adds the shared answers (401, 403, 413, 429, 503, Idempotency-Key).
    4. Add the module to ``RESOURCES`` below. ``tests/unit/test_api_openapi.py`` then checks that
       the document and the URL map agree, and the docs page (``/api/v1/docs``) lists it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from dashboard.core.clock import utc_now
from dashboard.store.idempotency import IdempotencyRepository
from dashboard.web.api import orders, payments, stats, system
from dashboard.web.api.auth import rate_limit_key
from dashboard.web.api.blueprint import bp
from dashboard.web.api.idempotency import IdempotencyKeys
from dashboard.web.api.openapi import build_spec

# The modules whose routes and OpenAPI entries make up the API, in the document's order.
RESOURCES = (orders, payments, stats, system)

__all__ = ["RESOURCES", "bp", "init_app"]


# Per Redis call: at most 0.5 s to connect and 0.5 s to answer, and no retry, so a store that
# is down or unreachable costs a request half a second once before the in-process fallback.
REDIS_TIMEOUT_SECONDS = 0.5


def ratelimit_storage_options(storage_uri: str) -> dict[str, Any]:
    """Return the Redis client options for the rate-limit store (none for memory://)."""
    if storage_uri == "memory://":
        return {}
    return {
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        # redis-py retries failed calls three times by default, multiplying the wait.
        "retry": Retry(NoBackoff(), 0),
    }


def init_app(app: Flask) -> None:
    """Register the API blueprint, its rate limit, idempotency records and OpenAPI document."""
    settings = app.extensions["settings"]
    store = app.extensions["store"]
    app.config.setdefault("API_RATE_LIMIT", settings.api_rate_limit)
    app.extensions["api_idempotency"] = IdempotencyKeys(
        IdempotencyRepository(store.client, store.tables), utc_now
    )
    app.extensions["api_openapi"] = build_spec(RESOURCES, app.config["APP_VERSION"])
    storage_uri = settings.ratelimit_storage_uri
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=storage_uri,
        storage_options=ratelimit_storage_options(storage_uri),
        strategy="fixed-window",
        # A store that is down must not take the API with it: count in this process meanwhile.
        # Flask-Limiter logs the switch ("Rate limit storage unreachable") and the recovery.
        in_memory_fallback_enabled=storage_uri != "memory://",
    )
    limiter.shared_limit(
        lambda: current_app.config["API_RATE_LIMIT"],
        scope="api",
        exempt_when=lambda: request.endpoint == "api.health",  # load balancers poll it
    )(bp)
    app.extensions["api_limiter"] = limiter
    app.register_blueprint(bp)
