"""What an API key is to the merchant, and who a request presenting one acts for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Every key starts with this, so a leaked key is recognisable (secret scanners, logs) and
# cannot be mistaken for another credential.
KEY_PREFIX = "pdk"


@dataclass(frozen=True)
class ApiKey:
    """One of a merchant's API keys, as stored: never the secret, only its public id."""

    key_id: str  # the public part of the key, also its DynamoDB key
    user_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # Who made it (``Actor.who``): a person's ``issuer#sub`` or a key id; None on older keys.
    created_by: str | None = None

    @property
    def is_active(self) -> bool:
        """Return True while requests may still authenticate with this key."""
        return self.revoked_at is None

    @property
    def display_prefix(self) -> str:
        """Return how the key is shown after creation: its public start, secret elided."""
        return f"{KEY_PREFIX}_{self.key_id}_…"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The merchant (and the key) on whose behalf an API request acts."""

    user_id: str
    key_id: str
    name: str = ""  # the key's name, what the audit log calls it
