"""The create-API-key form: the merchant names the key after the system that will use it.

The merchant also chooses what the key may do: full access (it may create payment links and
orders) or read only. The form offers full access first: a key is most often made for a web
shop that takes payments, and a read-only default would fail its first request with a 403.

The form carries the new key's id, minted when it is shown and signed for the merchant, so that
sending the same form twice (a reload of the "created" page) finds its key made already.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import ValidationError

from dashboard.core.signed_ids import sign_new_id, unsign_new_id
from dashboard.domain.api_keys import KeyScope
from dashboard.services.api_keys import NAME_MAX_LENGTH, InvalidKeyName, clean_key_name, new_key_id
from dashboard.web.secret_key import secret_key

_KEY_ID_PURPOSE = "new-api-key-id"


def sign_key_id(key_id: str, user_id: str) -> str:
    """Return the hidden-field value that carries a key id minted for this merchant."""
    return sign_new_id(secret_key(), key_id, user_id, _KEY_ID_PURPOSE)


def unsign_key_id(token: str, user_id: str) -> str:
    """Return the key id in a signed token, or raise FormExpired."""
    return unsign_new_id(secret_key(), token, user_id, _KEY_ID_PURPOSE)


class NewApiKeyForm(FlaskForm):
    """A name and a scope for the new key; the service's own rules decide what a valid name is."""

    key_token = HiddenField()
    name = StringField(
        "Name",
        render_kw={
            "maxlength": NAME_MAX_LENGTH,
            "autocomplete": "off",
            "placeholder": "Web shop",
        },
    )
    scope = RadioField(
        "Access",
        choices=[
            SelectChoice(
                KeyScope.FULL.value, "Full access: can create and cancel payment links and orders"
            ),
            SelectChoice(
                KeyScope.READ_ONLY.value, "Read only: can read payments, orders and statistics"
            ),
        ],
        default=KeyScope.FULL.value,
    )

    def validate_name(self, field: StringField) -> None:
        """Check the name by the same rule the service applies, for one message per mistake."""
        try:
            clean_key_name(field.data or "")
        except InvalidKeyName as exc:
            raise ValidationError(str(exc)) from None


def with_new_key_id(form: NewApiKeyForm, user_id: str) -> NewApiKeyForm:
    """Give the form a freshly minted key id, signed for the merchant; return the form."""
    form.key_token.data = sign_key_id(new_key_id(), user_id)
    return form
