"""Public routes of the API: health, the OpenAPI document, and its human-readable docs page."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask.typing import ResponseReturnValue

from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.api.blueprint import bp
from dashboard.web.api.docs import describe_endpoints
from dashboard.web.api.openapi import Endpoint, endpoint, json_response, problems, ref
from dashboard.web.api.problems import PROBLEM_TYPES, Problem
from dashboard.web.permissions import public

OPENAPI_TAG = {"name": "System", "description": "Health and this documentation; public."}


@bp.get("/health")
@public
def health() -> ResponseReturnValue:
    """Report the app's version and whether DynamoDB and the tables are there (200 or 503)."""
    version = current_app.config["APP_VERSION"]
    try:
        current_app.extensions["store"].check_tables()
    except StoreUnavailable as exc:
        # The reason may name internal endpoints: it goes to the log, not to the public.
        current_app.logger.warning("API health check: DynamoDB unavailable: %s", exc)
        raise Problem(
            503,
            "Service unavailable",
            "DynamoDB or its tables are not available.",
            problem_type="unavailable",
            headers={"Retry-After": "30"},
        ) from None
    return {"status": "ok", "app": "ok", "dynamodb": "ok", "version": version}


@bp.get("/openapi.json")
@public
def openapi_document() -> ResponseReturnValue:
    """Return the OpenAPI 3.1 document of this API."""
    return current_app.extensions["api_openapi"]


@bp.get("/docs")
@public
def docs() -> ResponseReturnValue:
    """Show the API's reference: every endpoint, its parameters, body, answers and a curl."""
    spec = current_app.extensions["api_openapi"]
    base_url = current_app.extensions["settings"].public_base_url + spec["servers"][0]["url"]
    return render_template(
        "api/docs.html",
        spec=spec,
        base_url=base_url,
        sections=describe_endpoints(spec, base_url),
        problem_types=PROBLEM_TYPES,
    )


def openapi_schemas() -> dict[str, Any]:
    """Return the Health component schema."""
    return {
        "Health": {
            "type": "object",
            "required": ["status", "app", "dynamodb", "version"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "app": {"type": "string", "enum": ["ok"]},
                "dynamodb": {"type": "string", "enum": ["ok"]},
                "version": {"type": "string"},
            },
        }
    }


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operations of the routes above."""
    html = {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}}
    return [
        endpoint(
            "get",
            "/health",
            "getHealth",
            "Check the service",
            tag="System",
            public=True,
            rate_limited=False,
            description="200 when the app and DynamoDB (with every table) are up; 503 if not. "
            "Not rate limited, for load balancers.",
            responses={"200": json_response("Up.", ref("Health")), **problems(503)},
        ),
        endpoint(
            "get",
            "/openapi.json",
            "getOpenApiDocument",
            "This OpenAPI document",
            tag="System",
            public=True,
            responses={"200": json_response("The OpenAPI 3.1 document.", {"type": "object"})},
        ),
        endpoint(
            "get",
            "/docs",
            "getApiDocs",
            "The API reference page",
            tag="System",
            public=True,
            responses={"200": html},
        ),
    ]
