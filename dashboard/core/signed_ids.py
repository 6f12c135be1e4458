"""Ids minted when a form is rendered, carried back signed in a hidden field.

The payment, order and API-key forms each mint their record's id before the merchant submits,
so a double submit lands on the same record; the signature ties the id to the merchant and the
form it was made for, and to a day.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

# How long a rendered form's new id stays usable. A tab left open longer gets a new id and a
# message, never a second record for one submit.
_NEW_ID_MAX_AGE_SECONDS = 24 * 3600


class FormExpired(Exception):
    """Raised when the form's signed id is missing, tampered with or too old."""


def _serializer(secret: str | bytes, purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a payment form's token never passes as an order form's.
    return URLSafeTimedSerializer(secret, salt=purpose)


def sign_new_id(secret: str | bytes, new_id: str, user_id: str, purpose: str) -> str:
    """Return the hidden-field value that carries an id minted for this merchant and form."""
    return _serializer(secret, purpose).dumps({"p": new_id, "u": user_id})


def unsign_new_id(secret: str | bytes, token: str, user_id: str, purpose: str) -> str:
    """Return the id in a token signed for this merchant and purpose, or raise FormExpired."""
    try:
        data = _serializer(secret, purpose).loads(token, max_age=_NEW_ID_MAX_AGE_SECONDS)
    except BadSignature:
        raise FormExpired from None
    if not isinstance(data, dict) or data.get("u") != user_id or not data.get("p"):
        raise FormExpired
    return data["p"]
