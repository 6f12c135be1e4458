"""``/api/v1/events``: the account's events of the last 30 days, oldest first, and its OpenAPI
entry.

Each event shows its resource as the JSON API shows it elsewhere: a payment or refund as the
change that made the event stored it, an order as it is now.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue

from dashboard.domain.events import EventType, ResourceType
from dashboard.domain.permissions import Permission
from dashboard.services.events import PAGE_SIZE, EventListing, InvalidCursor, ShownEvent
from dashboard.web.actor import current_actor
from dashboard.web.api.blueprint import bp
from dashboard.web.api.inputs import MAX_PAGE_SIZE, page_size
from dashboard.web.api.openapi import (
    Endpoint,
    endpoint,
    json_response,
    nullable,
    problems,
    query,
    ref,
)
from dashboard.web.api.order_json import order_json
from dashboard.web.api.payment_json import api_time, payment_json
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.api.refund_json import refund_json
from dashboard.web.permissions import requires

OPENAPI_TAG = {
    "name": "Events",
    "description": "What happened to the account's payments, refunds and orders, oldest first.",
}


def event_listing() -> EventListing:
    """Return the app's event listing."""
    return current_app.extensions["event_listing"]


@bp.get("/events")
@requires(Permission.READ)
def list_events() -> ResponseReturnValue:
    """List the account's events of the last 30 days, oldest first, after the cursor given."""
    actor = current_actor()
    try:
        page = event_listing().list_events(
            actor.account_id, request.args.get("after") or None, page_size(PAGE_SIZE)
        )
    except InvalidCursor as exc:
        raise ValidationProblem({"after": f"{exc} Start again from the first page."}, 400) from None
    return {
        "data": [event_json(e) for e in page.events],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


def event_json(shown: ShownEvent) -> dict[str, Any]:
    """Return an event as the API shows it, its resource in ``data``."""
    event = shown.event
    return {
        "id": event.event_id,
        "type": event.type.value,
        "created_at": api_time(event.created_at),
        "data": _resource_json(shown),
    }


def _resource_json(shown: ShownEvent) -> dict[str, Any] | None:
    event = shown.event
    if event.resource_type is ResourceType.ORDER:
        return order_json(shown.order) if shown.order else None  # None: deleted since
    payment = event.payment
    if payment is None:
        return None
    if event.resource_type is ResourceType.REFUND:
        refund = payment.refund(event.refund_id or "")
        return refund_json(refund, payment.currency) if refund else None
    # The status as it showed at the change: a link that lapsed later was not expired then.
    return payment_json(payment, event.created_at)


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of events: Event and EventList."""
    text = {"type": "string"}
    event = {
        "type": "object",
        "required": ["id", "type", "created_at", "data"],
        "properties": {
            "id": {**text, "description": "The event's id (a UUIDv7: ids sort by time)."},
            "type": {"type": "string", "enum": [t.value for t in EventType]},
            "created_at": {"type": "string", "format": "date-time"},
            "data": {
                "description": "The resource: for `payment.*` the payment and for `refund.*` "
                "the refund, as the change stored them; for `order.*` the order as it is now "
                "(null once it was deleted).",
                "anyOf": [ref("Payment"), ref("Refund"), ref("Order"), {"type": "null"}],
            },
        },
    }
    listing = {
        "type": "object",
        "required": ["data", "next_cursor", "has_more"],
        "properties": {
            "data": {"type": "array", "items": ref("Event")},
            "next_cursor": {
                **nullable(text),
                "description": "Pass as `after` for the events after this page; kept at the "
                "end too, to ask later for newer ones (null while there are none).",
            },
            "has_more": {"type": "boolean", "description": "More events follow this page."},
        },
    }
    return {"Event": event, "EventList": listing}


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operation of the route above."""
    return [
        endpoint(
            "get",
            "/events",
            "listEvents",
            "List events",
            tag="Events",
            description="Oldest first, the last 30 days: `payment.created`, `payment.failed`, "
            "`payment.completed`, `payment.expired`, `payment.cancelled`, `refund.executed`, "
            "`refund.failed`, `order.paid`, `order.cancelled`, `order.refunded`. Events come "
            "in no guaranteed order of their resources' changes: compare the resource's "
            "`updated_at`. Follow `next_cursor` while `has_more`; keep the last one to ask "
            "for newer events later.",
            parameters=[
                query("after", "The `next_cursor` of the previous page.", {"type": "string"}),
                query(
                    "limit",
                    f"Page size (default {PAGE_SIZE}).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                ),
            ],
            responses={
                "200": json_response("A page of events.", ref("EventList")),
                **problems(400),
            },
        )
    ]
