"""``/api/v1/stats``: the Statistics page's figures as JSON, and their OpenAPI entry.

Per currency, never added together; ratios and changes are decimal strings ("0.4167") or null
when undefined, amounts strings with their ``_minor`` integers beside them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue

from dashboard.core.clock import utc_now
from dashboard.domain.money import SUPPORTED_CURRENCIES, from_minor
from dashboard.domain.payments import PaymentStatus, StatusGroup
from dashboard.domain.permissions import Permission
from dashboard.domain.timezones import local_today
from dashboard.services.statistics import (
    PRESET_DAYS,
    CurrencyStatistics,
    Statistics,
    StatsRangeError,
    parse_stats_range,
)
from dashboard.web.actor import current_actor
from dashboard.web.api.blueprint import bp
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
from dashboard.web.permissions import requires

OPENAPI_TAG = {"name": "Statistics", "description": "Figures of the Statistics page."}


@bp.get("/stats")
@requires(Permission.READ)
def get_stats() -> ResponseReturnValue:
    """Return the statistics for a range of days (default: the last 30), per currency."""
    now = utc_now()
    currency = (request.args.get("currency") or "").upper() or None
    if currency and currency not in SUPPORTED_CURRENCIES:
        raise ValidationProblem({"currency": "Choose GBP or EUR."}, status=400)
    try:
        period = parse_stats_range(request.args, local_today(now, API_DAYS_ZONE), API_DAYS_ZONE)
    except StatsRangeError as exc:
        field = "days" if request.args.get("days") and not request.args.get("from") else "from"
        raise ValidationProblem({field: str(exc)}, status=400) from None
    stats = current_app.extensions["statistics"].for_period(current_actor().account_id, period, now)
    return statistics_json(stats, currency)


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _money(amount_minor: int, currency: str) -> str:
    return str(from_minor(amount_minor, currency))


def statistics_json(stats: Statistics, currency: str | None) -> dict[str, Any]:
    """Return the JSON form of the statistics, for one currency or all."""
    period = stats.period
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days": period.days,
        "time_zone": period.zone.key,
        "previous_from": period.previous.first.isoformat(),
        "previous_to": period.previous.last.isoformat(),
        "computed_at": api_time(stats.computed_at),
        "currencies": [
            _currency_json(c) for c in stats.currencies if currency in (None, c.currency)
        ],
    }


def _currency_json(figures: CurrencyStatistics) -> dict[str, Any]:
    current, currency = figures.current, figures.currency
    average = figures.average_completed
    return {
        "currency": currency,
        "payments": current.total,
        "links_created": current.links_created,
        "completed": current.completed,
        "completed_volume": _money(current.completed_minor, currency),
        "completed_volume_minor": current.completed_minor,
        "refunded_volume": _money(current.refunded_minor, currency),
        "refunded_volume_minor": current.refunded_minor,
        "refunds": current.refunds_executed,
        "net_volume": _money(current.net_minor, currency),
        "net_volume_minor": current.net_minor,
        "average_completed": None if average is None else str(average),
        "conversion": _ratio(figures.conversion),
        "attempt_success": _ratio(figures.attempt_success),
        "volume_change": _ratio(figures.volume_change),
        "count_change": _ratio(figures.count_change),
        "conversion_change": _ratio(figures.conversion_change),
        "refunded_volume_change": _ratio(figures.refunded_change),
        "refunds_change": _ratio(figures.refund_count_change),
        "net_volume_change": _ratio(figures.net_change),
        "by_group": {g.value: n for g, n in current.by_group().items()},
        "by_status": {s.value: n for s, n in current.counts.items()},
        "daily": [
            {
                "date": day.isoformat(),
                "completed_volume": _money(volume, currency),
                "completed_volume_minor": volume,
                "by_group": {g.value: n for g, n in groups.items()},
            }
            for (day, volume), (_, groups) in zip(
                figures.volume_by_day, figures.groups_by_day, strict=True
            )
        ],
    }


def openapi_schemas() -> dict[str, Any]:
    """Return the Statistics component schemas."""
    count, money = {"type": "integer", "minimum": 0}, {"type": "string", "examples": ["12.50"]}
    ratio = nullable({"type": "string", "description": "A decimal fraction, e.g. 0.4167."})
    refunded = "What executed refunds of the period's payments gave back (not returned ones)."
    net = "Completed volume less refunded volume."
    groups = {
        "type": "object",
        "required": [g.value for g in StatusGroup],
        "properties": {g.value: count for g in StatusGroup},
        "additionalProperties": False,
    }
    day = {
        "type": "object",
        "required": ["date", "completed_volume", "completed_volume_minor", "by_group"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "completed_volume": money,
            "completed_volume_minor": count,
            "by_group": groups,
        },
    }
    figures = {
        "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        "payments": count,
        "links_created": count,
        "completed": count,
        "completed_volume": money,
        "completed_volume_minor": count,
        "refunded_volume": {**money, "description": refunded},
        "refunded_volume_minor": {**count, "description": refunded},
        "refunds": {
            **count,
            "description": "How many executed refunds the period's payments have.",
        },
        "net_volume": {**money, "description": net},
        "net_volume_minor": {"type": "integer", "description": net},
        "average_completed": nullable(money),
        "conversion": ratio,
        "attempt_success": ratio,
        "volume_change": ratio,
        "count_change": ratio,
        "conversion_change": ratio,
        "refunded_volume_change": ratio,
        "refunds_change": ratio,
        "net_volume_change": ratio,
        "by_group": groups,
        "by_status": {
            "type": "object",
            "properties": {s.value: count for s in PaymentStatus},
            "required": [s.value for s in PaymentStatus],
        },
        "daily": {"type": "array", "items": day},
    }
    day_string = {"type": "string", "format": "date"}
    return {
        "CurrencyStatistics": {"type": "object", "required": list(figures), "properties": figures},
        "Statistics": {
            "type": "object",
            "required": [
                "from",
                "to",
                "days",
                "time_zone",
                "previous_from",
                "previous_to",
                "computed_at",
                "currencies",
            ],
            "properties": {
                "from": day_string,
                "to": day_string,
                "days": {"type": "integer", "minimum": 1},
                "time_zone": {
                    "type": "string",
                    "description": "The zone the days are days of: always UTC in the API "
                    "(the dashboard's pages use the zone set in Settings).",
                    "examples": ["UTC"],
                },
                "previous_from": day_string,
                "previous_to": day_string,
                "computed_at": {"type": "string", "format": "date-time"},
                "currencies": {"type": "array", "items": ref("CurrencyStatistics")},
            },
        },
    }


def openapi_endpoints() -> list[Endpoint]:
    """Return the OpenAPI operation of the route above."""
    day = {"type": "string", "format": "date"}
    return [
        endpoint(
            "get",
            "/stats",
            "getStatistics",
            "Get payment statistics",
            tag="Statistics",
            description="A payment counts on the UTC day it was created "
            "(`time_zone` in the answer), in the status it has now; its refunds count on that "
            "day too. Give `days`, or `from` (and optionally `to`, at most 366 days).",
            parameters=[
                query(
                    "days",
                    "The last 7, 14, 30 or 90 days (default 30).",
                    {"type": "integer", "enum": list(PRESET_DAYS)},
                ),
                query("from", "First day of a custom range (a UTC day).", day),
                query("to", "Last day of a custom range (a UTC day; default today).", day),
                query(
                    "currency",
                    "Only this currency.",
                    {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
                ),
            ],
            responses={"200": json_response("The statistics.", ref("Statistics")), **problems(400)},
        )
    ]
