"""API key use cases: create (shown once), list, revoke, and authenticate a presented key.

A key reads ``pdk_<keyId>_<secret>``. The key id is public: it is the item's DynamoDB key, shown
on the Settings page, and lets a request's key be found with one GetItem. Only a hash of the
secret is stored, and it is compared in constant time. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dashboard.core.errors import NotFound
from dashboard.domain.actor import Actor
from dashboard.domain.api_keys import KEY_PREFIX, ApiKey, ApiKeyPrincipal, KeyScope
from dashboard.domain.audit import AuditAction, audit_note
from dashboard.store.api_keys import ApiKeyRepository, KeyIdTaken
from dashboard.store.dynamo import StoreUnavailable

log = logging.getLogger(__name__)

MAX_ACTIVE_KEYS = 20
NAME_MAX_LENGTH = 60
# Letters and digits only: the key id never contains the "_" that separates the parts, and a
# double click selects it whole. 62**12 (about 71 bits) makes collisions and guessing moot.
_KEY_ID_ALPHABET = string.ascii_letters + string.digits
_KEY_ID_LENGTH = 12
_SECRET_BYTES = 32  # 256 bits; token_urlsafe makes 43 characters of them
_SECRET_LENGTH = 43
_KEY_LENGTH = len(KEY_PREFIX) + 1 + _KEY_ID_LENGTH + 1 + _SECRET_LENGTH
_KEY_ID = re.compile(rf"[A-Za-z0-9]{{{_KEY_ID_LENGTH}}}")
_KEY = re.compile(
    rf"{KEY_PREFIX}_(?P<key_id>[A-Za-z0-9]{{{_KEY_ID_LENGTH}}})"
    rf"_(?P<secret>[A-Za-z0-9_-]{{{_SECRET_LENGTH}}})"
)
# Busy API clients would otherwise write to their key's item on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_ID_DRAWS = 3


class InvalidKeyName(ValueError):
    """Raised when a key's name is empty, too long or unprintable; the message says which."""


class ApiKeyLimitReached(Exception):
    """Raised when the merchant already has the most active keys allowed."""


class ApiKeyNotFound(NotFound):
    """Raised for a key id that is unknown or belongs to another merchant."""

    title = "API key not found"
    message = "There is no such API key in your account."


class ApiKeyAlreadyCreated(Exception):
    """Raised when the key id given for a new key is already one of the merchant's keys.

    The create form carries the id minted when it was shown, so this is the same form sent
    again (a reload of the "created" page): its key exists and its secret was shown once.
    """


def new_key_id() -> str:
    """Return a fresh random key id: 12 letters and digits."""
    return "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))


def is_key_id(value: str) -> bool:
    """Return True if ``value`` has the form of a key id (12 letters and digits)."""
    return isinstance(value, str) and _KEY_ID.fullmatch(value) is not None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def hash_secret(secret: str) -> str:
    """Return the stored form of a key's secret: its SHA-256, hex.

    A plain, fast hash is enough here, unlike for passwords: the secret is 256 random bits, so
    there is no dictionary to try and brute force is out of reach whatever the hash's speed.
    A slow hash (bcrypt, Argon2) would only add latency to every API request.
    """
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def clean_key_name(name: str) -> str:
    """Return the name trimmed; raise InvalidKeyName unless it is 1 to 60 printable characters."""
    name = (name or "").strip()
    if not name:
        raise InvalidKeyName("Enter a name, such as the system that will use the key.")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidKeyName(f"Use at most {NAME_MAX_LENGTH} characters.")
    if not name.isprintable():
        raise InvalidKeyName("Use letters, digits, spaces and punctuation only.")
    return name


class ApiKeyService:
    """The API key use cases of one deployment, on one repository and one clock."""

    def __init__(self, repository: ApiKeyRepository, clock: Callable[[], datetime] = _utc_now):
        self._repository = repository
        self._now = clock

    def create_key(
        self,
        actor: Actor,
        name: str,
        key_id: str | None = None,
        scope: KeyScope = KeyScope.FULL,
    ) -> tuple[ApiKey, str]:
        """Create a key in the actor's account; return its record and the full key, shown once.

        ``scope`` says what requests presenting it may do (full: take payments too).
        ``key_id`` is the id minted when the create form was shown (None: draw one here). If it
        is already one of the merchant's keys, the form was sent twice: raise
        ApiKeyAlreadyCreated rather than make a second key. Raise InvalidKeyName or
        ApiKeyLimitReached. The limit is checked before the write, so two simultaneous creates
        may end one key over it: it bounds abuse, not an invariant. The key records who
        created it (``Actor.who``).
        """
        user_id = actor.account_id
        name = clean_key_name(name)
        if key_id is not None and not is_key_id(key_id):
            raise ValueError("A key id is 12 letters and digits.")
        # The Settings page's own listing: creating a key is rare, so no separate count is kept.
        keys = self.list_keys(user_id)
        if key_id is not None and any(key.key_id == key_id for key in keys):
            raise ApiKeyAlreadyCreated(key_id)
        if sum(key.is_active for key in keys) >= MAX_ACTIVE_KEYS:
            raise ApiKeyLimitReached(MAX_ACTIVE_KEYS)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        for draw in range(_MAX_ID_DRAWS):
            key = ApiKey(
                key_id=key_id if key_id is not None and draw == 0 else new_key_id(),
                user_id=user_id,
                name=name,
                created_at=self._now(),
                created_by=actor.who,
                scope=scope,
            )
            audit = audit_note(actor, AuditAction.API_KEY_CREATED, key.created_at)
            try:
                self._repository.add(key, hash_secret(secret), audit)
            except KeyIdTaken:
                if key.key_id == key_id:
                    self._raise_if_theirs(user_id, key_id)
                continue  # taken by another merchant's key: draw another, as for any collision
            return key, f"{KEY_PREFIX}_{key.key_id}_{secret}"
        raise RuntimeError("could not draw an unused API key id")  # a broken random source

    def _raise_if_theirs(self, user_id: str, key_id: str) -> None:
        """Raise ApiKeyAlreadyCreated if the taken id is the merchant's own key."""
        # The listing above reads an index, which lags a write made a moment ago (a double
        # click): the key's own item, read strongly consistently, settles it.
        stored = self._repository.get(key_id)
        if stored is not None and stored.key.user_id == user_id:
            raise ApiKeyAlreadyCreated(key_id)

    def list_keys(self, user_id: str) -> list[ApiKey]:
        """Return the merchant's keys, revoked ones too, newest first."""
        return self._repository.list_for_merchant(user_id)

    def revoke_key(self, actor: Actor, key_id: str) -> ApiKey:
        """Revoke the account's key at once and return it; revoking again changes nothing.

        Raise ApiKeyNotFound for an unknown key id or another merchant's key.
        """
        if not is_key_id(key_id):
            raise ApiKeyNotFound(key_id[:64])  # not even a key id: no need to ask DynamoDB
        now = self._now()
        audit = audit_note(actor, AuditAction.API_KEY_REVOKED, now)
        key = self._repository.revoke(actor.account_id, key_id, now, audit)
        if key is None:
            raise ApiKeyNotFound(key_id)
        return key

    def authenticate(self, presented_key: str) -> ApiKeyPrincipal | None:
        """Return who a presented API key acts for, or None if it is not a valid, active key."""
        # Checked before anything else, so junk and oversized input never reach DynamoDB.
        if not isinstance(presented_key, str) or len(presented_key) != _KEY_LENGTH:
            return None
        match = _KEY.fullmatch(presented_key)
        if match is None:
            return None
        stored = self._repository.get(match["key_id"])
        if stored is None:
            return None
        if not hmac.compare_digest(stored.secret_hash, hash_secret(match["secret"])):
            return None
        if not stored.key.is_active:
            return None
        self._record_use(stored.key)
        return ApiKeyPrincipal(
            user_id=stored.key.user_id,
            key_id=stored.key.key_id,
            scope=stored.key.scope,
            name=stored.key.name,
        )

    def _record_use(self, key: ApiKey) -> None:
        """Note that the key was used, at most once per LAST_USED_RESOLUTION."""
        now = self._now()
        cutoff = now - LAST_USED_RESOLUTION
        if key.last_used_at is not None and key.last_used_at >= cutoff:
            return  # recorded recently, as the read just showed: spare the write
        try:
            self._repository.record_use(key.key_id, now, unless_used_since=cutoff)
        except StoreUnavailable as exc:
            # "Last used" is informative; a throttled write must not refuse a valid request.
            log.warning("Could not record the use of API key %s: %s", key.key_id, exc)
