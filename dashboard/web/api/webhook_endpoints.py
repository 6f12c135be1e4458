"""``/api/v1/webhook-endpoints``: list, add, delete an account's webhook endpoints; rotate secrets.

Routes parse input and call the webhook endpoint service; its errors (InvalidInput,
WebhookEndpointNotFound, WebhookEndpointLimitReached) become problem details in ``problems.py``.
A signing secret is in an answer twice only: when the endpoint is added and when it is rotated.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue

from dashboard.domain.events import EventType
from dashboard.domain.permissions import Permission
from dashboard.domain.webhook_endpoints import (
    ALL_EVENT_TYPES,
    DESCRIPTION_MAX_LENGTH,
    URL_MAX_LENGTH,
    EndpointStatus,
    WebhookEndpoint,
)
from dashboard.services.webhook_endpoints import WebhookEndpointExists, WebhookEndpointService
from dashboard.web.actor import current_actor
from dashboard.web.api.blueprint import bp
from dashboard.web.api.idempotency import (
    idempotent,
    idempotent_resource_id,
    keep_no_response_body,
    resumes_an_ended_run,
)
from dashboard.web.api.inputs import json_request_body
from dashboard.web.api.openapi import (
    Endpoint,
    endpoint,
    json_body,
    json_response,
    nullable,
    path_param,
    problems,
    ref,
)
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.api.times import api_time
from dashboard.web.permissions import requires
from dashboard.web.step_up import recent_sign_in_required

OPENAPI_TAG = {
    "name": "Webhook endpoints",
    "description": "Where the account's events are sent, and the secrets that sign them.",
}
_NEW_ENDPOINT_FIELDS = frozenset({"url", "event_types", "description"})


def endpoint_service() -> WebhookEndpointService:
    """Return the app's webhook endpoint service."""
    return current_app.extensions["webhook_endpoints"]


def endpoint_json(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    """Return the endpoint as the API shows it; ``secret`` only right after it was made."""
    shown: dict[str, Any] = {
        "id": endpoint.endpoint_id,
        "url": endpoint.url,
        "event_types": sorted(endpoint.event_types),
        "description": endpoint.description or None,
        "status": endpoint.status.value,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": api_time(endpoint.created_at),
        "updated_at": api_time(endpoint.updated_at),
    }
    if secret is not None:
        shown["secret"] = secret
    return shown


@bp.get("/webhook-endpoints")
@requires(Permission.READ)
def list_webhook_endpoints() -> ResponseReturnValue:
    """List the account's webhook endpoints, oldest first; never their secrets."""
    endpoints = endpoint_service().list(current_actor().account_id)
    return {"data": [endpoint_json(e) for e in endpoints]}


@bp.post("/webhook-endpoints")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required()
@idempotent
def create_webhook_endpoint() -> ResponseReturnValue:
    """Add a webhook endpoint; 201 with it and its signing secret, shown this once."""
    body = json_request_body()
    if not isinstance(body, dict):
        raise ValidationProblem({"body": "Send a JSON object."})
    unknown = sorted(set(body) - _NEW_ENDPOINT_FIELDS)
    if unknown:
        raise ValidationProblem(dict.fromkeys(unknown, "Unknown field."))
    # The answer holds the secret: the idempotency record must not keep it in clear.
    keep_no_response_body()
    service = endpoint_service()
    actor = current_actor()
    # A retry with the Idempotency-Key of a run that added the endpoint gets that endpoint, and
    # the secret it was given (read from its sealed copy), not a second endpoint.
    endpoint_id = idempotent_resource_id()
    try:
        endpoint, secret = service.add(
            actor, endpoint_id, body.get("url"), body.get("event_types"), body.get("description")
        )
    except WebhookEndpointExists:
        if not resumes_an_ended_run():
            raise
        endpoint = service.get(actor.account_id, endpoint_id)
        secret = service.current_secret(endpoint)
    return endpoint_json(endpoint, secret), 201


@bp.delete("/webhook-endpoints/<endpoint_id>")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required()
def delete_webhook_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Delete one of the account's webhook endpoints; 204, or 404 for an unknown one."""
    endpoint_service().delete(current_actor(), endpoint_id)
    return "", 204


@bp.post("/webhook-endpoints/<endpoint_id>/rotate-secret")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required()
@idempotent
def rotate_webhook_endpoint_secret(endpoint_id: str) -> ResponseReturnValue:
    """Give the endpoint a new signing secret; 200 with it, shown this once."""
    keep_no_response_body()  # the answer holds the secret
    # A retry with the same Idempotency-Key names the same secret: it gets the rotation it
    # made, instead of rotating once more.
    endpoint, secret = endpoint_service().rotate_secret(
        current_actor(), endpoint_id, secret_id=idempotent_resource_id()
    )
    return endpoint_json(endpoint, secret)


@bp.post("/webhook-endpoints/<endpoint_id>/disable")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required()
@idempotent
def disable_webhook_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Stop delivering to the endpoint; 200 with it. Disabling a disabled one changes nothing."""
    endpoint = endpoint_service().disable(current_actor(), endpoint_id, "Disabled through the API.")
    return endpoint_json(endpoint)


@bp.post("/webhook-endpoints/<endpoint_id>/enable")
@requires(Permission.MANAGE_WEBHOOKS)
@recent_sign_in_required()
@idempotent
def enable_webhook_endpoint(endpoint_id: str) -> ResponseReturnValue:
    """Deliver to the endpoint again; 200 with it. Enabling an active one changes nothing."""
    return endpoint_json(endpoint_service().enable(current_actor(), endpoint_id))


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of webhook endpoints."""
    text = {"type": "string"}
    time = {"type": "string", "format": "date-time"}
    event_type = {"type": "string", "enum": [t.value for t in EventType]}
    properties = {
        "id": {**text, "format": "uuid", "description": "The endpoint's id (a UUIDv7)."},
        "url": {**text, "format": "uri", "description": "Where events are sent (https)."},
        "event_types": {"type": "array", "items": event_type, "minItems": 1},
        "description": {**nullable({**text, "maxLength": DESCRIPTION_MAX_LENGTH})},
        "status": {"type": "string", "enum": [s.value for s in EndpointStatus]},
        "disabled_reason": nullable(text),
        "created_at": time,
        "updated_at": time,
    }
    listed = {"type": "object", "required": list(properties), "properties": properties}
    secret = {
        **text,
        "pattern": "^whsec_[A-Za-z0-9+/]{43}=$",
        "description": "The signing secret: shown only in this answer. Store it now.",
    }
    with_secret = {
        "type": "object",
        "required": [*properties, "secret"],
        "properties": {**properties, "secret": secret},
    }
    new = {
        "type": "object",
        "required": ["url", "event_types"],
        "additionalProperties": False,
        "properties": {
            "url": {**text, "maxLength": URL_MAX_LENGTH},
            "event_types": {
                "description": f'A list of event types, or `"{ALL_EVENT_TYPES}"` for every one.',
                "anyOf": [
                    {"type": "array", "items": event_type, "minItems": 1},
                    {"type": "string", "enum": [ALL_EVENT_TYPES]},
                ],
            },
            "description": nullable({**text, "maxLength": DESCRIPTION_MAX_LENGTH}),
        },
    }
    listing = {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "array", "items": ref("WebhookEndpoint")}},
    }
    return {
        "WebhookEndpoint": listed,
        "WebhookEndpointWithSecret": with_secret,
        "NewWebhookEndpoint": new,
        "WebhookEndpointList": listing,
    }


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operations of the routes above."""
    endpoint_id = path_param("endpoint_id", "The endpoint's id (a UUID).", {"type": "string"})
    return [
        endpoint(
            "get",
            "/webhook-endpoints",
            "listWebhookEndpoints",
            "List webhook endpoints",
            tag="Webhook endpoints",
            description="The account's endpoints, oldest first (at most 10). Secrets are "
            "never listed. Any API key or role may list them.",
            responses={"200": json_response("The endpoints.", ref("WebhookEndpointList"))},
        ),
        endpoint(
            "post",
            "/webhook-endpoints",
            "createWebhookEndpoint",
            "Add a webhook endpoint",
            tag="Webhook endpoints",
            idempotent=True,
            step_up=True,
            description='Adds an https endpoint for the event types given (or `"all"`). The '
            "answer holds its signing secret, `whsec_` + base64 of 32 bytes: it is shown only "
            "here. A retry with the same Idempotency-Key answers the same endpoint and secret. "
            "An account has at most 10 endpoints (409).",
            body=json_body(
                "NewWebhookEndpoint",
                {
                    "url": "https://shop.example/webhooks",
                    "event_types": ["payment.completed", "refund.executed"],
                    "description": "Shop backend",
                },
            ),
            responses={
                "201": json_response("Added.", ref("WebhookEndpointWithSecret")),
                **problems(400, 409, 415, 422),
            },
        ),
        endpoint(
            "delete",
            "/webhook-endpoints/{endpoint_id}",
            "deleteWebhookEndpoint",
            "Delete a webhook endpoint",
            tag="Webhook endpoints",
            parameters=[endpoint_id],
            step_up=True,
            description="Deletes the endpoint and its secrets: no more events are sent to it.",
            responses={"204": {"description": "Deleted; no body."}, **problems(404, 409)},
        ),
        endpoint(
            "post",
            "/webhook-endpoints/{endpoint_id}/rotate-secret",
            "rotateWebhookEndpointSecret",
            "Rotate a webhook endpoint's signing secret",
            tag="Webhook endpoints",
            parameters=[endpoint_id],
            idempotent=True,
            step_up=True,
            description="Gives the endpoint a new signing secret, shown only in this answer "
            "(no body). The previous secret keeps signing beside it for 24 hours, so the "
            "receiver can switch over. A retry with the same Idempotency-Key answers the same "
            "secret, without rotating again.",
            responses={
                "200": json_response("The new secret.", ref("WebhookEndpointWithSecret")),
                **problems(404, 409),
            },
        ),
        endpoint(
            "post",
            "/webhook-endpoints/{endpoint_id}/disable",
            "disableWebhookEndpoint",
            "Disable a webhook endpoint",
            tag="Webhook endpoints",
            parameters=[endpoint_id],
            idempotent=True,
            step_up=True,
            description="Stops delivering events to the endpoint (no body) until it is enabled "
            "again. Disabling a disabled endpoint changes nothing.",
            responses={
                "200": json_response("The endpoint, disabled.", ref("WebhookEndpoint")),
                **problems(404, 409),
            },
        ),
        endpoint(
            "post",
            "/webhook-endpoints/{endpoint_id}/enable",
            "enableWebhookEndpoint",
            "Enable a webhook endpoint",
            tag="Webhook endpoints",
            parameters=[endpoint_id],
            idempotent=True,
            step_up=True,
            description="Delivers events to the endpoint again (no body). Enabling an active "
            "endpoint changes nothing.",
            responses={
                "200": json_response("The endpoint, active.", ref("WebhookEndpoint")),
                **problems(404, 409),
            },
        ),
    ]
