"""The refund form: how much to give back, and why (for the audit log)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from dashboard.core.signed_ids import sign_new_id, unsign_new_id
from dashboard.domain.money import InvalidAmount, parse_amount, to_minor
from dashboard.domain.refunds import REFUND_REASON_MAX_LENGTH
from dashboard.services.refunds import NewRefund
from dashboard.web.payments.forms import no_control_characters
from dashboard.web.secret_key import secret_key

_REFUND_ID_SALT = "new-refund-id"


def sign_refund_id(refund_id: str, user_id: str) -> str:
    """Return the hidden-field value that carries a refund id minted for this merchant."""
    return sign_new_id(secret_key(), refund_id, user_id, _REFUND_ID_SALT)


def unsign_refund_id(token: str, user_id: str) -> str:
    """Return the refund id in a signed token, or raise FormExpired."""
    return unsign_new_id(secret_key(), token, user_id, _REFUND_ID_SALT)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RefundForm(FlaskForm):
    """Refund amount (in the payment's currency) and an optional reason."""

    # Minted when the form is shown: a double submit lands on the same refund.
    refund_token = HiddenField()
    amount = StringField(
        "Refund amount",
        filters=[_strip],
        validators=[DataRequired("Enter the amount to refund.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    # One line: it is shown in a table cell and the audit log, and line breaks are refused.
    reason = StringField(
        "Reason (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(
                max=REFUND_REASON_MAX_LENGTH,
                message=f"Use at most {REFUND_REASON_MAX_LENGTH} characters.",
            ),
            no_control_characters,
        ],
        render_kw={"maxlength": REFUND_REASON_MAX_LENGTH, "autocomplete": "off"},
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self._amount: Decimal | None = None

    def validate_amount(self, field: StringField) -> None:
        """Check the amount against the payment's currency's rules (the service checks more)."""
        try:
            self._amount = parse_amount(field.data or "", self.currency)
        except InvalidAmount as exc:
            raise ValidationError(str(exc)) from None

    def to_request(self, refund_id: str) -> NewRefund:
        """Return the validated input as the service's request."""
        assert self._amount is not None, "validate() first"
        return NewRefund(
            refund_id=refund_id,
            amount_minor=to_minor(self._amount, self.currency),
            reason=(self.reason.data or "").strip() or None,
        )
