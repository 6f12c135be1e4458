"""The JSON API's wiring: its blueprint, rate limit, idempotency records and OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from dashboard.core.clock import utc_now
from dashboard.store.idempotency import IdempotencyRepository
from dashboard.web.api import (
    audit,
    events,
    orders,
    payments,
    refunds,
    stats,
    system,
    webhook_endpoints,
)
from dashboard.web.api.auth import rate_limit_key
from dashboard.web.api.blueprint import bp
from dashboard.web.api.idempotency import IdempotencyKeys
from dashboard.web.api.openapi import build_spec

# The modules whose routes and OpenAPI entries make up the API, in the document's order.
RESOURCES = (orders, payments, refunds, events, webhook_endpoints, stats, audit, system)

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
