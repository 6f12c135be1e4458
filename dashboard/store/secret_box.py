"""Encryption at rest of webhook signing secrets: AES-GCM under ``WEBHOOK_SECRETS_KEY``.

In the store layer because it is part of how a secret is stored, like the API keys' hashes:
the domain keeps only opaque ciphertext, and the service hands a repository the box at start-up.
Not in core: nothing but stored secrets needs it, and the key is the store's deployment setting.

A sealed secret is a random 12-byte nonce followed by the ciphertext and its 16-byte tag. The
endpoint id is the associated data, so a secret copied onto another endpoint does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# DEVELOPMENT AND TEST ONLY: a fixed, public key so local data survives a restart. Production
# refuses to start without WEBHOOK_SECRETS_KEY (``dashboard.config``), so this never guards
# a real merchant's secret.
DEVELOPMENT_KEY = base64.b64encode(
    hashlib.sha256(b"payment-dashboard: development-only webhook secrets key").digest()
).decode("ascii")


class SecretUnreadable(Exception):
    """Raised when a sealed secret does not open: another key, another endpoint, or tampered."""


def decode_key(encoded: str) -> bytes:
    """Return the 32 key bytes of a base64 ``WEBHOOK_SECRETS_KEY``; raise ValueError otherwise."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("WEBHOOK_SECRETS_KEY must be base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"WEBHOOK_SECRETS_KEY must be base64 of {KEY_BYTES} bytes")
    return key


class SecretBox:
    """Seals and opens signing secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256 key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, secret: str, endpoint_id: str) -> bytes:
        """Return ``secret`` encrypted for ``endpoint_id``: a fresh nonce, then ciphertext+tag."""
        nonce = os.urandom(NONCE_BYTES)  # random per secret: a nonce never repeats under the key
        return nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), endpoint_id.encode())

    def open(self, sealed: bytes, endpoint_id: str) -> str:
        """Return the secret ``seal`` made for ``endpoint_id``; raise SecretUnreadable if not."""
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, ciphertext, endpoint_id.encode())
        except (InvalidTag, ValueError):
            raise SecretUnreadable(endpoint_id) from None
        return plain.decode("utf-8")
