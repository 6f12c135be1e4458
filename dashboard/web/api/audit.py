"""``/api/v1/audit-events``: the account's audit log as JSON, newest first, and its OpenAPI entry.

For full-scope API keys and the sessions of Owners and Admins, with the audit log page's
filters (``actor``, ``action``, ``from``, ``to``) and cursor paging.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue

from dashboard.domain.audit import AuditAction, AuditEntry
from dashboard.domain.permissions import Permission
from dashboard.services.audit import PAGE_SIZE, AuditLogService, InvalidCursor
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
from dashboard.web.api.payment_json import API_DAYS_ZONE, api_time
from dashboard.web.api.problems import ValidationProblem
from dashboard.web.audit_filters import parse_audit_filters
from dashboard.web.payment_filters import FilterError
from dashboard.web.permissions import requires

OPENAPI_TAG = {
    "name": "Audit log",
    "description": "Who changed money or configuration in the account; read-only.",
}


def audit_log_service() -> AuditLogService:
    """Return the app's audit log service."""
    return current_app.extensions["audit_log"]


@bp.get("/audit-events")
@requires(Permission.READ_AUDIT_LOG)
def list_audit_events() -> ResponseReturnValue:
    """List the account's audit entries, newest first, filtered and paged."""
    actor = current_actor()
    try:
        filters = parse_audit_filters(request.args)
    except FilterError as exc:
        raise ValidationProblem(exc.messages, status=400) from None
    try:
        page = audit_log_service().list_entries(
            actor.account_id,
            filters.query(API_DAYS_ZONE),
            request.args.get("cursor") or None,
            page_size(PAGE_SIZE),
        )
    except InvalidCursor as exc:
        raise ValidationProblem(
            {"cursor": f"{exc} Start again from the first page."}, 400
        ) from None
    return {"data": [audit_event_json(e) for e in page.entries], "next_cursor": page.next_cursor}


def audit_event_json(entry: AuditEntry) -> dict[str, Any]:
    """Return an audit entry as the API shows it."""
    return {
        "id": entry.entry_id,
        "at": api_time(entry.at),
        "action": entry.action.value,
        "action_label": entry.action.label,
        "via": entry.via.value,
        "actor": {"id": entry.actor, "label": entry.actor_label},
        "ip_address": entry.ip_address,
        "target": {"type": entry.target_type, "id": entry.target_id, "label": entry.target_label},
        "before": entry.before,
        "after": entry.after,
    }


def openapi_schemas() -> dict[str, Any]:
    """Return the component schemas of the audit log: AuditEvent and AuditEventList."""
    text = {"type": "string"}
    values = {"type": "object", "additionalProperties": text}
    event = {
        "type": "object",
        "required": ["id", "at", "action", "action_label", "via", "actor", "target"],
        "properties": {
            "id": {**text, "description": "The entry's id (a UUIDv7: ids sort by time)."},
            "at": {"type": "string", "format": "date-time"},
            "action": {"type": "string", "enum": [a.value for a in AuditAction]},
            "action_label": text,
            "via": {"type": "string", "enum": ["browser", "api"]},
            "actor": {
                "type": "object",
                "required": ["id", "label"],
                "properties": {
                    "id": {
                        **nullable(text),
                        "description": "The person (`issuer#sub`) or the API key id.",
                    },
                    "label": {**nullable(text), "description": "Their email, or the key's name."},
                },
            },
            "ip_address": nullable(text),
            "target": {
                "type": "object",
                "required": ["type", "id"],
                "properties": {
                    "type": {
                        **text,
                        "description": "payment, order, api_key, person, member, invitation",
                    },
                    "id": text,
                    "label": {**nullable(text), "description": "A reference, ORD-1042, a name."},
                },
            },
            "before": {**values, "description": "What changed, as it was (empty when new)."},
            "after": {**values, "description": "What changed, as it became (empty when gone)."},
        },
    }
    listing = {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": ref("AuditEvent")},
            "next_cursor": nullable(text),
        },
    }
    return {"AuditEvent": event, "AuditEventList": listing}


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operation of the route above."""
    day = {"type": "string", "format": "date"}
    forbidden = {
        **problems(403)["403"],
        "description": "A session of a member who is not an Owner or an Admin.",
    }
    return [
        endpoint(
            "get",
            "/audit-events",
            "listAuditEvents",
            "List audit events",
            tag="Audit log",
            description="Newest first. Every change to money or configuration made by a person "
            "or an API key: payment links, orders, API keys, sign-ins and sign-outs (provider "
            "status changes stay on the payment). For full-scope API keys and the sessions of "
            "Owners and Admins. Follow `next_cursor` (same filters) until it is null.",
            parameters=[
                query(
                    "actor",
                    "Only this actor: a person (`issuer#sub`) or an API key id.",
                    text_schema(),
                ),
                query(
                    "action",
                    "Only this action.",
                    {"type": "string", "enum": [a.value for a in AuditAction]},
                ),
                query("from", "On or after this UTC day.", day),
                query("to", "On or before this UTC day.", day),
                query("cursor", "The `next_cursor` of the previous page.", text_schema()),
                query(
                    "limit",
                    f"Page size (default {PAGE_SIZE}).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                ),
            ],
            responses={
                "200": json_response("A page of audit events.", ref("AuditEventList")),
                **problems(400),
                "403": forbidden,
            },
        )
    ]


def text_schema() -> dict[str, str]:
    """Return the schema of a plain string parameter."""
    return {"type": "string"}
