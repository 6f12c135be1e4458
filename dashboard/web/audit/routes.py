"""Routes of Settings → Audit log: the log, filtered and paged, and its CSV export.

For Owner and Admin (``Permission.READ_AUDIT_LOG``). The filters and the cursor live in the URL;
htmx's "Load more" asks the same view for the next rows only.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.clock import utc_now
from dashboard.domain.audit import AuditAction
from dashboard.domain.permissions import Permission
from dashboard.services.audit import AuditLogService, AuditPage, InvalidCursor
from dashboard.web.actor import current_actor
from dashboard.web.audit.export import audit_csv_lines
from dashboard.web.audit_filters import (
    AuditFilters,
    parse_audit_filters,
)
from dashboard.web.htmx import render_page_or_block
from dashboard.web.payment_filters import FilterError
from dashboard.web.permissions import requires
from dashboard.web.zone import current_zone

bp = Blueprint("audit", __name__, url_prefix="/settings/audit-log")

# What each kind of target is called on the page.
TARGET_LABELS = {
    "payment": "Payment link",
    "order": "Order",
    "api_key": "API key",
    "person": "Person",
    "member": "Member",
    "invitation": "Invitation",
    "webhook_endpoint": "Webhook endpoint",
}
VIA_LABELS = {"browser": "Dashboard", "api": "API", "webhook": "Webhook", "system": "System"}


@bp.before_request
@login_required
def require_sign_in() -> None:
    """The audit log is for signed-in Owners and Admins; each route declares its permission."""


def audit_log_service() -> AuditLogService:
    """Return the app's audit log service."""
    return current_app.extensions["audit_log"]


@bp.get("")
@requires(Permission.READ_AUDIT_LOG)
def audit_log_page() -> ResponseReturnValue:
    """Show the account's audit log, newest first, with its filters and a next-page link."""
    actor = current_actor()
    try:
        filters = parse_audit_filters(request.args)
    except FilterError as exc:
        return _page(AuditFilters(errors=exc.messages), None, status=400)
    cursor = request.args.get("cursor") or None
    try:
        query = filters.query(current_zone())
        page = audit_log_service().list_entries(actor.account_id, query, cursor)
    except InvalidCursor as exc:
        errors = {"cursor": f"{exc} Start again from the first page."}
        return _page(AuditFilters(errors=errors), None, status=400)
    return _page(filters, page, continuing=cursor is not None)


@bp.get("/export.csv")
@requires(Permission.READ_AUDIT_LOG)
def export_audit_log() -> ResponseReturnValue:
    """Download every entry the filters match as CSV, streamed."""
    actor = current_actor()
    try:
        filters = parse_audit_filters(request.args)
    except FilterError as exc:
        return {"error": "Invalid filters", "detail": exc.messages}, 400
    entries = audit_log_service().export(actor.account_id, filters.query(current_zone()))
    filename = f"audit-log-{utc_now():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(audit_csv_lines(entries, current_zone())),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _page(
    filters: AuditFilters, page: AuditPage | None, status: int = 200, continuing: bool = False
) -> ResponseReturnValue:
    account_id = current_actor().account_id
    return render_page_or_block(
        "audit/index.html",
        "more_rows",
        status=status,
        filters=filters,
        page=page,
        continuing=continuing,
        actor_choices=audit_log_service().actor_choices(account_id),
        actions=list(AuditAction),
        target_labels=TARGET_LABELS,
        via_labels=VIA_LABELS,
    )
