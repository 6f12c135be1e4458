"""The create-payment-link form: what the merchant may type, and what each field accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from dashboard.core.signed_ids import sign_new_id, unsign_new_id
from dashboard.core.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from dashboard.domain.money import (
    SUPPORTED_CURRENCIES,
    InvalidAmount,
    currency_symbol,
    parse_amount,
    to_minor,
)
from dashboard.domain.payments import (
    PAYER_NAME_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    REFERENCE_PATTERN,
)
from dashboard.domain.timezones import NonexistentLocalTime, local_to_utc, zone_named
from dashboard.services.payments import MAX_LINK_LIFETIME, NewPaymentLink
from dashboard.web.secret_key import secret_key

_PAYMENT_ID_SALT = "new-payment-id"
REFERENCE_ALLOWED = "letters, digits, spaces and - . / ? : ( ) , ' +"
REFERENCE_RULE = (
    "Shown to the payer and on their bank statement. "
    f"Up to {REFERENCE_MAX_LENGTH} characters: {REFERENCE_ALLOWED}."
)


def sign_payment_id(payment_id: str, user_id: str) -> str:
    """Return the hidden-field value that carries a payment id minted for this merchant."""
    return sign_new_id(secret_key(), payment_id, user_id, _PAYMENT_ID_SALT)


def unsign_payment_id(token: str, user_id: str) -> str:
    """Return the payment id in a signed token, or raise FormExpired."""
    return unsign_new_id(secret_key(), token, user_id, _PAYMENT_ID_SALT)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def no_control_characters(_form: FlaskForm, field: StringField) -> None:
    """Refuse a line break, tab or other control character inside the field (WTForms validator)."""
    if field.data and has_control_characters(field.data):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE)


class NewPaymentLinkForm(FlaskForm):
    """Amount, currency, reference; optionally the payer and when the link expires."""

    payment_token = HiddenField()
    amount = StringField(
        "Amount",
        filters=[_strip],
        validators=[DataRequired("Enter the amount to collect.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "12.50"},
    )
    currency = SelectField(
        "Currency",
        # app.js shows the chosen currency's symbol beside the amount.
        choices=[
            SelectChoice(c, c, render_kw={"data-symbol": currency_symbol(c)})
            for c in SUPPORTED_CURRENCIES
        ],
        default="GBP",
    )
    # No maxlength: the browser would cut a pasted reference short without a word. The
    # merchant sees a live count instead, and an over-long one is refused saying why.
    reference = StringField(
        "Reference",
        filters=[_strip],
        validators=[DataRequired("Enter a reference the payer will recognise.")],
        render_kw={"placeholder": "Invoice 42", "autocomplete": "off"},
    )
    payer_name = StringField(
        "Payer name (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(
                max=PAYER_NAME_MAX_LENGTH,
                message=f"Use at most {PAYER_NAME_MAX_LENGTH} characters.",
            ),
            no_control_characters,
        ],
        render_kw={"autocomplete": "off", "maxlength": PAYER_NAME_MAX_LENGTH},
    )
    payer_email = EmailField(
        "Payer email (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254),
            Email("Enter an email address such as name@example.com."),
        ],
        render_kw={"autocomplete": "off"},
    )
    # In the account's time zone (the label says which): the merchant types their own clock.
    expires_at = DateTimeLocalField(
        "Link expires (optional)",
        validators=[Optional()],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def __init__(
        self,
        *args: Any,
        now: datetime | None = None,
        zone: ZoneInfo | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._now = now or datetime.now(UTC)
        self._zone = zone or zone_named(None)
        self._amount: Decimal | None = None
        self._expires_at: datetime | None = None

    def validate_amount(self, field: StringField) -> None:
        """Check the amount against the chosen currency's rules."""
        currency = self.currency.data if self.currency.data in SUPPORTED_CURRENCIES else "GBP"
        try:
            self._amount = parse_amount(field.data or "", currency)
        except InvalidAmount as exc:
            raise ValidationError(str(exc)) from None

    def validate_reference(self, field: StringField) -> None:
        """Refuse a reference the provider would refuse, naming the limit and what is allowed."""
        reference = field.data or ""
        refused = sorted({c for c in reference if not re.fullmatch(REFERENCE_PATTERN, c)})
        if len(reference) > REFERENCE_MAX_LENGTH:
            raise ValidationError(
                f"Use at most {REFERENCE_MAX_LENGTH} characters (this has {len(reference)}): "
                f"{REFERENCE_ALLOWED}."
            )
        if refused:
            shown = " ".join(c if c.isprintable() else "a control character" for c in refused)
            raise ValidationError(
                f"Use {REFERENCE_ALLOWED} only, up to {REFERENCE_MAX_LENGTH} characters "
                f"(not {shown})."
            )

    def validate_expires_at(self, field: DateTimeLocalField) -> None:
        """Read the expiry in the account's zone; check it exists, is ahead, at most 30 days.

        A time the clocks skip (a daylight-saving gap) is refused; one they pass twice reads
        as the earlier, which is the sooner expiry of the two and so never keeps a link open
        longer than the merchant asked.
        """
        if field.data is None:
            return
        try:
            expires = local_to_utc(field.data, self._zone)
        except NonexistentLocalTime as exc:
            raise ValidationError(str(exc)) from None
        self._expires_at = expires
        if expires <= self._now:
            raise ValidationError("Choose a time in the future.")
        if expires > self._now + MAX_LINK_LIFETIME:
            raise ValidationError("A link can stay open for at most 30 days.")

    def to_request(self, payment_id: str) -> NewPaymentLink:
        """Return the validated input as the service's request."""
        assert self._amount is not None, "validate() first"
        return NewPaymentLink(
            payment_id=payment_id,
            amount_minor=to_minor(self._amount, self.currency.data),
            currency=self.currency.data,
            reference=self.reference.data.strip(),
            payer_name=(self.payer_name.data or "").strip() or None,
            payer_email=(self.payer_email.data or "").strip().lower() or None,
            expires_at=self._expires_at,
        )
