"""The OpenAPI 3.1 document of ``/api/v1``, built in code from small helpers.

Each resource module (``payments``, ``stats``, ``system``...) declares, next to its routes,
``openapi_endpoints()`` (a list of ``endpoint(...)``) and ``openapi_schemas()`` (component
schemas by name). ``build_spec`` puts them together with the parts every endpoint shares:
the Problem schema, the problem responses, security schemes and the Idempotency-Key header.
A unit test checks that the document and the app's URL map list the same routes and methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from dashboard.web.api.problems import PROBLEM_JSON

API_PREFIX = "/api/v1"
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})

# What each problem status means in this API, for the document and the docs page.
PROBLEM_STATUSES = {
    400: "Malformed request: bad JSON, query parameters or headers (field errors in `errors`).",
    401: (
        "No credentials, or an API key that is malformed, unknown or revoked; for a sensitive "
        "action called with the browser session, a sign-in older than 5 minutes "
        "(`step-up-required`)."
    ),
    403: "A browser-session write without a valid CSRF token, or a write your role or your "
    "API key's scope does not allow (a read-only key, a Viewer).",
    404: "No such resource in your account.",
    409: "Not possible in the resource's current state, or the Idempotency-Key is in use.",
    413: "The request body is larger than 1 MB.",
    415: "The body is not JSON (send Content-Type: application/json).",
    422: "The input was refused (field errors in `errors`), or the Idempotency-Key was reused.",
    429: "Too many requests; wait for Retry-After seconds.",
    502: "The payment provider refused the request.",
    503: "DynamoDB or the payment provider is not answering; try again shortly.",
}
STEP_UP_NOTE = (
    "With the browser session, this needs a sign-in from the last 5 minutes: otherwise 401 "
    "`step-up-required` (sign in again, then retry). API keys are not asked."
)
_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": "The authentication scheme to use: Bearer."},
    429: {"Retry-After": "Seconds to wait before the limit resets."},
    503: {"Retry-After": "Seconds to wait before trying again."},
}


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API: its method, its path below /api/v1, and its OpenAPI object."""

    method: str
    path: str
    operation: dict[str, Any]


def ref(schema: str) -> dict[str, str]:
    """Return a reference to a component schema."""
    return {"$ref": f"#/components/schemas/{schema}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Return the schema allowing null too (OpenAPI 3.1 / JSON Schema type lists)."""
    return {**schema, "type": [schema["type"], "null"]}


def json_response(description: str, schema: dict[str, Any], **headers: str) -> dict[str, Any]:
    """Return a JSON response object; ``headers`` maps header names to their description."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = {
            name.replace("_", "-"): {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


def problems(*statuses: int) -> dict[str, dict[str, Any]]:
    """Return the problem-details responses for the statuses."""
    found = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": PROBLEM_STATUSES[status],
            "content": {PROBLEM_JSON: {"schema": ref("Problem")}},
        }
        if status in _PROBLEM_HEADERS:
            response["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in _PROBLEM_HEADERS[status].items()
            }
        found[str(status)] = response
    return found


def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Return an optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Return a path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def json_body(schema: str, example: dict[str, Any]) -> dict[str, Any]:
    """Return a required JSON request body of a component schema, with an example."""
    return {
        "required": True,
        "content": {"application/json": {"schema": ref(schema), "example": example}},
    }


def endpoint(
    method: str,
    path: str,
    operation_id: str,
    summary: str,
    *,
    tag: str,
    responses: dict[str, Any],
    description: str = "",
    parameters: Iterable[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    public: bool = False,
    idempotent: bool = False,
    rate_limited: bool = True,
    step_up: bool = False,
) -> Endpoint:
    """Return an operation with what every endpoint of its kind shares added to it.

    Private endpoints get the 401/429/503 problems; writes the CSRF 403 and the body-size 413;
    ``idempotent`` ones the Idempotency-Key header and its 400/409/422 answers; ``step_up``
    ones (behind ``@recent_sign_in_required``) say that a session caller needs a recent sign-in.
    """
    method = method.lower()
    shared: list[int] = [] if public else [401, 503]
    if rate_limited:
        shared.append(429)
    params = list(parameters)
    if method in UNSAFE_METHODS and not public:
        shared += [403, 413]
    if idempotent:
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
        shared += [400, 409, 422]
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {**problems(*sorted(set(shared))), **responses},
    }
    if step_up:
        description = " ".join(filter(None, [description, STEP_UP_NOTE]))
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return Endpoint(method, path, operation)


def build_spec(resources: Iterable[ModuleType], version: str) -> dict[str, Any]:
    """Return the whole OpenAPI document from the resource modules' endpoints and schemas."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    tags: list[dict[str, str]] = []
    for resource in resources:
        schemas.update(resource.openapi_schemas())
        tags.append(resource.OPENAPI_TAG)
        for found in resource.openapi_endpoints():
            paths.setdefault(found.path, {})[found.method] = found.operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Payment Dashboard API", "version": version, "description": _INTRO},
        "servers": [{"url": API_PREFIX}],
        "tags": tags,
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {"IdempotencyKey": IDEMPOTENCY_KEY_PARAMETER},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


_INTRO = (
    "Orders, payment links and statistics of the signed-in merchant. Authenticate with an API key "
    "created on the Settings page (`Authorization: Bearer <API key>`), or with the browser "
    "session (writes then need the `X-CSRFToken` header). Errors are RFC 9457 problem details. "
    'Amounts are strings (`"12.50"`) with their integer minor units beside them '
    "(`amount_minor`, `total_minor`)."
)
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "Quote it to support."},
        "errors": {
            "type": "object",
            "description": "What was wrong with each refused field, header or parameter.",
            "additionalProperties": {"type": "string"},
        },
    },
}
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same body returns the first response "
        "(with `Idempotent-Replayed: true`) for 24 hours; with another body, 422. After an "
        "error answer (404, 409, 5xx) the same request runs again, on what the first run "
        "may have created: never a second payment or order."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from the Settings page: `Authorization: Bearer pdk_...`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "pd_session",
        "description": "The browser session after signing in; writes need `X-CSRFToken`.",
    },
}
