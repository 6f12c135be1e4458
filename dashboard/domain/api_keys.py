"""What an API key is to the merchant, and who a request presenting one acts for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Every key starts with this, so a leaked key is recognisable (secret scanners, logs) and
# cannot be mistaken for another credential.
KEY_PREFIX = "pdk"


class KeyScope(StrEnum):
    """What an API key may do (``dashboard.domain.permissions.SCOPE_PERMISSIONS``)."""

    FULL = "full"
    READ_ONLY = "read_only"

    @property
    def label(self) -> str:
        """Return the scope as the settings page names it."""
        return "Full access" if self is KeyScope.FULL else "Read only"


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
    # Keys stored before scopes existed have none and read as full: they keep working.
    scope: KeyScope = KeyScope.FULL

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
    """The merchant (and the key) on whose behalf an API request acts, and what it may do."""

    user_id: str
    key_id: str
    scope: KeyScope = KeyScope.FULL
    name: str = ""  # the key's name, what the audit log calls it
