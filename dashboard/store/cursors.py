"""Opaque, tamper-proof page cursors, bound to one merchant and one set of filters.

A cursor holds DynamoDB keys (which name the merchant and the payments), so it is encrypted, not
just signed: Fernet (AES-CBC + HMAC) with a key derived from the app's secret key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

_MAX_CURSOR_LENGTH = 16_000


class InvalidCursor(ValueError):
    """Raised for a cursor that was altered, is someone else's, or belongs to other filters."""


class CursorCodec:
    """Turns the finder's continuation state into a URL-safe token and back."""

    def __init__(self, secret_key: str):
        digest = hashlib.sha256(b"payment-dashboard/cursor/v1|" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encode(self, state: dict[str, Any], user_id: str, fingerprint: str) -> str:
        """Return a token that continues the list for this merchant and these filters only."""
        payload = {"u": _owner_tag(user_id), "f": fingerprint, "s": state}
        packed = zlib.compress(json.dumps(payload, separators=(",", ":")).encode())
        return self._fernet.encrypt(packed).decode()

    def decode(self, token: str, user_id: str, fingerprint: str) -> dict[str, Any]:
        """Return the state in a token; raise InvalidCursor unless it is this list's."""
        if len(token) > _MAX_CURSOR_LENGTH:
            raise InvalidCursor("The page link is too long.")
        try:
            payload = json.loads(zlib.decompress(self._fernet.decrypt(token.encode())))
        except (InvalidToken, zlib.error, ValueError) as exc:
            raise InvalidCursor("The page link is damaged.") from exc
        if payload.get("u") != _owner_tag(user_id) or payload.get("f") != fingerprint:
            raise InvalidCursor("The page link belongs to another list.")
        return payload["s"]


def _owner_tag(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()[:16]
