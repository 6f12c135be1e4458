"""The create-API-key form: the merchant names the key after the system that will use it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from dashboard.apikeys.service import NAME_MAX_LENGTH, InvalidKeyName, clean_key_name


class NewApiKeyForm(FlaskForm):
    """A name for the new key; the service's own rules decide what a valid name is."""

    name = StringField(
        "Name",
        render_kw={
            "maxlength": NAME_MAX_LENGTH,
            "autocomplete": "off",
            "placeholder": "Web shop",
        },
    )

    def validate_name(self, field: StringField) -> None:
        """Check the name by the same rule the service applies, for one message per mistake."""
        try:
            clean_key_name(field.data or "")
        except InvalidKeyName as exc:
            raise ValidationError(str(exc)) from None
