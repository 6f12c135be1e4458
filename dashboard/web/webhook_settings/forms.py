"""The add-endpoint form: where events go, which ones, and a note for the merchant."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField

from dashboard.domain.events import EventType
from dashboard.domain.webhook_endpoints import (
    ALL_EVENT_TYPES,
    DESCRIPTION_MAX_LENGTH,
    URL_MAX_LENGTH,
)


class NewEndpointForm(FlaskForm):
    """The fields as typed; the service's own rules decide what is valid."""

    url = StringField(
        "Endpoint URL",
        render_kw={
            "maxlength": URL_MAX_LENGTH,
            "autocomplete": "off",
            "placeholder": "https://shop.example/webhooks",
            "inputmode": "url",
        },
    )
    all_events = BooleanField("All events", default=True)
    event_types = SelectMultipleField(
        "Event types",
        choices=[SelectChoice(t.value, t.value) for t in EventType],
        validate_choice=False,
    )
    description = StringField(
        "Description", render_kw={"maxlength": DESCRIPTION_MAX_LENGTH, "autocomplete": "off"}
    )

    def chosen_event_types(self) -> object:
        """Return what the service takes: ``"all"`` or the boxes ticked."""
        return ALL_EVENT_TYPES if self.all_events.data else list(self.event_types.data or [])
