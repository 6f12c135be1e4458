"""Routes of the statistics page and its fragment."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dashboard.core.clock import utc_now
from dashboard.domain.money import SUPPORTED_CURRENCIES, axis_money, minor_digits
from dashboard.domain.payments import StatusGroup
from dashboard.domain.permissions import Permission
from dashboard.domain.timezones import local_today
from dashboard.services.statistics import (
    PRESET_DAYS,
    StatsRange,
    StatsRangeError,
    parse_stats_range,
)
from dashboard.web.actor import current_actor
from dashboard.web.htmx import render_page_or_block
from dashboard.web.permissions import requires
from dashboard.web.stats.charts import bar_chart, stacked_chart
from dashboard.web.zone import current_zone

bp = Blueprint("stats", __name__, url_prefix="/stats")
# Bottom to top in the stacked chart, and the legend's order.
GROUP_ORDER = [StatusGroup.COMPLETED, StatusGroup.PENDING, StatusGroup.FAILED, StatusGroup.ENDED]


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Statistics are for the signed-in merchant only."""


@bp.get("")
@requires(Permission.READ)
def statistics_page() -> ResponseReturnValue:
    """Show the statistics for a range of days: the full page, or the figures for htmx."""
    now = utc_now()
    currency = (request.args.get("currency") or "").upper() or None
    try:
        if currency and currency not in SUPPORTED_CURRENCIES:
            raise StatsRangeError(f"Unknown currency “{currency[:10]}”: choose GBP or EUR.")
        zone = current_zone()
        period = parse_stats_range(request.args, local_today(now, zone), zone)
    except StatsRangeError as exc:
        return render_page_or_block(
            "stats/page.html", "figures", status=400, error=str(exc), stats=None,
            presets=PRESET_DAYS, period=None, args=request.args,
        )  # fmt: skip
    stats = current_app.extensions["statistics"].for_period(current_actor().account_id, period, now)
    shown = [c for c in stats.currencies if currency in (None, c.currency)]
    charts = {
        c.currency: {
            # Completed volume: drawn in the Completed colour, as everywhere else.
            "volume": bar_chart(
                c.volume_by_day,
                partial(axis_money, currency=c.currency),
                "seg-completed",
                smallest_top=10 ** minor_digits(c.currency),
            ),
            "mix": stacked_chart(
                [(day, {g.value: n for g, n in groups.items()}) for day, groups in c.groups_by_day],
                [g.value for g in GROUP_ORDER],
            ),
        }
        for c in shown
    }
    return render_page_or_block(
        "stats/page.html", "figures", stats=stats, currencies=shown, charts=charts,
        period=period, presets=PRESET_DAYS, groups=GROUP_ORDER, error=None,
        currency=currency, args=request.args, range_args=_range_args(period),
        currency_choices=(None, *SUPPORTED_CURRENCIES),
    )  # fmt: skip


def _range_args(period: StatsRange) -> dict[str, str]:
    """Return the query that names the period shown: a preset, or its first and last day.

    The currency choices link with it, so picking a currency keeps the range (a preset needs
    no dates typed).
    """
    if period.preset:
        return {"days": str(period.preset)}
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}
