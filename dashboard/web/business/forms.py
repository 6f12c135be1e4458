"""The business settings form: the name, support email and logo payers see.

The service holds the rules (``dashboard.services.business``); the form checks them too, so a
mistake is shown beside its field, with what the merchant typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import ValidationError

from dashboard.core.errors import InvalidInput
from dashboard.domain.business import BUSINESS_NAME_MAX_LENGTH, SUPPORT_EMAIL_MAX_LENGTH
from dashboard.domain.timezones import offered_zones, offset_label
from dashboard.services.business import clean_business_name, clean_support_email


class BusinessForm(FlaskForm):
    """The business name, an optional support email, and an optional new or removed logo."""

    business_name = StringField(
        "Business name",
        render_kw={"maxlength": BUSINESS_NAME_MAX_LENGTH, "autocomplete": "organization"},
    )
    support_email = EmailField(
        "Support email (optional)",
        render_kw={"maxlength": SUPPORT_EMAIL_MAX_LENGTH, "autocomplete": "email"},
    )
    logo = FileField("Choose a logo file", render_kw={"accept": "image/png,image/jpeg"})
    remove_logo = BooleanField("Remove the logo")
    send_receipts = BooleanField("Email payers a receipt when they pay")

    def validate_business_name(self, field: StringField) -> None:
        """Check the name by the service's rule, for one message per mistake."""
        _check(clean_business_name, field.data or "")

    def validate_support_email(self, field: EmailField) -> None:
        """Check the address by the service's rule."""
        _check(clean_support_email, field.data or "")


class TimeZoneForm(FlaskForm):
    """The zone the account's times and days are shown in, chosen from those offered."""

    time_zone = SelectField(
        "Time zone",
        choices=[],
        invalid_choice_message="Choose a time zone from the list.",
        render_kw={"autocomplete": "off"},
    )

    def __init__(self, *args: object, now: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices(now)


def zone_choices(now: datetime) -> dict[str, list[tuple[str, str]]]:
    """Return the offered zones grouped by region (``<optgroup>``), each with its offset now.

    ``Europe/Paris`` reads ``Paris (UTC+01:00)``: the region is the group's label.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in offered_zones():
        region, _, place = name.partition("/")
        label = place.replace("_", " ").replace("/", " – ") if place else "UTC"
        offset = offset_label(ZoneInfo(name), now)
        shown = f"{label} ({offset})" if place else label
        groups.setdefault(region if place else "Universal", []).append((name, shown))
    return groups


def _check(rule: Callable[[str], object], value: str) -> None:
    try:
        rule(value)
    except InvalidInput as exc:
        raise ValidationError(next(iter(exc.errors.values()))) from None
