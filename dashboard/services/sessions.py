"""Server-side sign-in sessions: started at sign-in, checked on every request, ended at sign-out.

The browser's cookie holds only a random session id; what the session is (whose, since when)
lives in DynamoDB under the id's SHA-256. Signing out deletes the record, so a copy of the
cookie is worth nothing afterwards. A session ends after ``idle`` without a request and, in any
case, ``lifetime`` after sign-in. Reading a session is one strongly consistent read; the
last-seen time is written at most once a minute, so a busy tab costs reads, not writes.

Every request also needs the person's membership of the session's account (their role, read
strongly so a removed member is refused at once). Its key is the session's person and account,
which only the session item says: so the service remembers, per session it resolved, which
person and account that was, and the next request of the same session reads the session item
and that membership item in one BatchGetItem. What is remembered only picks the keys to read,
never an answer: both items are read afresh on every request, and a membership read for another
person or account than the session item now names is thrown away (the caller reads the right
one). A session switched or ended elsewhere (another process) is therefore never served stale.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person
from dashboard.domain.user import User
from dashboard.store.sessions import SessionRepository, StoredSession

# The one key the signed-in browser's cookie holds about who it is: the session's random id.
SESSION_ID_KEY = "sid"
# How stale ``lastSeenAt`` may get before a request writes it again. The idle timeout is
# therefore honoured to within this much.
SEEN_WRITE_INTERVAL = timedelta(minutes=1)
# A sensitive action (creating an API key, changing a member's role...) needs the person to have
# authenticated at the provider this recently: the session's ``auth_time``, not its start.
STEP_UP_MAX_AGE = timedelta(minutes=5)
# How far the provider's clock may run behind ours when an ID token's ``auth_time`` is judged
# against the ``max_age`` we asked for.
AUTH_TIME_LEEWAY = timedelta(seconds=60)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def session_hash(session_id: str) -> str:
    """Return what the store keys a session by: the SHA-256 of the id the cookie holds."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """A live session's person in its account, with their membership if it was read with it.

    ``membership_read`` False: the membership was not read (the service did not know yet whose
    session it was, or the session names another person or account than expected), and the
    caller reads it; True: ``membership`` is the person's in ``user.account_id``, or None if
    they are no longer a member there.
    """

    user: User
    membership: Membership | None = None
    membership_read: bool = False


# Sessions whose person and account are remembered, per process: a few hundred bytes each.
REMEMBERED_SESSIONS = 10_000


class _SessionKeys:
    """The person and account each recently resolved session named: which keys to read next.

    Bounded (least recently used go first) and thread-safe; it holds no secret (session
    hashes, not ids) and decides nothing: see the module's docstring.
    """

    def __init__(self, capacity: int = REMEMBERED_SESSIONS):
        self._capacity = capacity
        self._keys: OrderedDict[str, tuple[Person, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stored_hash: str) -> tuple[Person, str] | None:
        with self._lock:
            keys = self._keys.get(stored_hash)
            if keys is not None:
                self._keys.move_to_end(stored_hash)
            return keys

    def remember(self, stored_hash: str, person: Person, account_id: str) -> None:
        with self._lock:
            self._keys[stored_hash] = (person, account_id)
            self._keys.move_to_end(stored_hash)
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)

    def forget(self, stored_hash: str) -> None:
        with self._lock:
            self._keys.pop(stored_hash, None)


class SessionService:
    """Starts, resolves and ends sessions; knows nothing of Flask or cookies."""

    def __init__(
        self,
        repository: SessionRepository,
        idle: timedelta,
        lifetime: timedelta,
        clock: Callable[[], datetime] = _utc_now,
    ):
        self._repository = repository
        self.idle = idle
        self.lifetime = lifetime
        self.clock = clock
        self._keys = _SessionKeys()

    def start(
        self,
        person: Person,
        account_id: str,
        email: str | None = None,
        name: str | None = None,
        auth_time: datetime | None = None,
        email_verified: bool = False,
    ) -> str:
        """Store a new session of ``person`` working in ``account_id``; return its id.

        The id is for the cookie only: the store keeps its hash.
        """
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        self._repository.add(
            StoredSession(
                session_hash=session_hash(session_id),
                person=person,
                account_id=account_id,
                email=email,
                name=name,
                auth_time=auth_time,
                email_verified=email_verified,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.lifetime,
            )
        )
        return session_id

    def resolve(self, session_id: str) -> User | None:
        """Return the signed-in person of a live session and its account, or None if it ended.

        The role is not known here: the caller reads the person's membership of the account.

        A session found past its idle or absolute limit is deleted on the way.
        """
        key = session_hash(session_id)
        return self._live_user(key, self._repository.get(key))

    def resolve_with_membership(self, session_id: str) -> LiveSession | None:
        """Return the live session's person and account, with their membership when known.

        The session is checked exactly as by ``resolve``. When this service resolved the same
        session before, the person's membership of the account it named then is read in the
        same request as the session item (both strongly consistent), and kept only if the
        session item still names that person and account.
        """
        key = session_hash(session_id)
        expected = self._keys.get(key)
        if expected is None:
            user = self._live_user(key, self._repository.get(key))
            return LiveSession(user) if user is not None else None
        person, account_id = expected
        stored, membership = self._repository.get_with_membership(key, account_id, person)
        user = self._live_user(key, stored)
        if user is None:
            return None
        if user.person != person or user.account_id != account_id:
            return LiveSession(user)  # switched account (elsewhere): that membership is not its
        return LiveSession(user, membership, membership_read=True)

    def _live_user(self, key: str, stored: StoredSession | None) -> User | None:
        """Return the user of a stored session still within its limits (ending it if not)."""
        if stored is None:
            self._keys.forget(key)
            return None
        now = self.clock()
        if now >= stored.expires_at or now - stored.last_seen_at >= self.idle:
            self._keys.forget(key)
            self._repository.delete(key)
            return None
        if now - stored.last_seen_at >= SEEN_WRITE_INTERVAL:
            # Conditional: of several requests arriving together, one writes; the rest skip.
            self._repository.record_seen(key, now, unless_seen_since=now - SEEN_WRITE_INTERVAL)
        self._keys.remember(key, stored.person, stored.account_id)
        return User(
            person=stored.person,
            account_id=stored.account_id,
            email=stored.email,
            name=stored.name,
            session_hash=key,
            auth_time=stored.auth_time,
            email_verified=stored.email_verified,
        )

    def signed_in_within(
        self, auth_time: datetime | None, max_age: timedelta, leeway: timedelta = timedelta(0)
    ) -> bool:
        """Return True when the provider authenticated the person at most ``max_age`` ago.

        An unknown ``auth_time`` is never recent: a provider that does not say when the person
        signed in cannot vouch for a recent sign-in.
        """
        return auth_time is not None and self.clock() - auth_time <= max_age + leeway

    def confirm_sign_in(self, session_id: str, auth_time: datetime, email_verified: bool) -> bool:
        """Record a step-up on the same session: its new ``auth_time``; return False if it ended.

        The session keeps its id (so the cookie, its CSRF token and the account chosen stay),
        its start and its absolute end: confirming who you are does not make a session live
        longer.
        """
        return self._repository.record_reauthentication(
            session_hash(session_id), auth_time, email_verified
        )

    def switch_account(self, stored_hash: str, account_id: str) -> None:
        """Make the session work in ``account_id`` from its next request on."""
        self._repository.set_account(stored_hash, account_id)
        expected = self._keys.get(stored_hash)
        if expected is not None:
            self._keys.remember(stored_hash, expected[0], account_id)

    def end(self, session_id: str) -> None:
        """End one session (sign-out): its cookie no longer signs anyone in."""
        self._keys.forget(session_hash(session_id))
        self._repository.delete(session_hash(session_id))

    def end_by_hash(self, stored_hash: str) -> None:
        """End a session known by its stored hash (its person has no account left)."""
        self._keys.forget(stored_hash)
        self._repository.delete(stored_hash)

    def end_everywhere(self, person: Person) -> int:
        """End every session of the person, this one included; return how many there were."""
        return self._repository.delete_for_person(person)
