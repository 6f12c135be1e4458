"""Audit log use cases: record a sign-in or sign-out, read the log a page at a time, export it.

Changes of payments, orders and API keys write their own entries, in their own transaction
(the services hand the repositories an ``AuditNote``); a sign-in or sign-out has no other item
to go with, so it is recorded here on its own. Nothing here edits or deletes an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.core.clock import utc_now
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditEntry, audit_note
from dashboard.domain.timezones import start_of_day
from dashboard.store.accounts import AccountRepository
from dashboard.store.api_keys import ApiKeyRepository
from dashboard.store.audit import AuditFilter, AuditLogRepository
from dashboard.store.cursors import CursorCodec, InvalidCursor

PAGE_SIZE = 50
SESSION_ACTIONS = frozenset(
    {AuditAction.SIGNED_IN, AuditAction.SIGNED_OUT, AuditAction.SIGNED_OUT_EVERYWHERE}
)

__all__ = [
    "PAGE_SIZE",
    "AuditActorChoice",
    "AuditLogService",
    "AuditPage",
    "AuditQuery",
    "InvalidCursor",
]


_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to list: one actor (``Actor.who``), one action, local days (inclusive).

    The days are the merchant's, in ``zone`` (UTC when none is given).
    """

    actor: str | None = None
    action: AuditAction | None = None
    first_day: date | None = None
    last_day: date | None = None
    zone: ZoneInfo = _UTC

    def fingerprint(self) -> str:
        """Return what a cursor is bound to, so it cannot continue another list."""
        return "|".join(
            (
                "audit",
                self.actor or "",
                self.action or "",
                self.first_day.isoformat() if self.first_day else "",
                self.last_day.isoformat() if self.last_day else "",
                # The zone only changes what the days mean.
                self.zone.key if self.first_day or self.last_day else "",
            )
        )

    def as_filter(self) -> AuditFilter:
        """Return the repository's filter: the days as a time range, the last day included."""
        since = start_of_day(self.first_day, self.zone) if self.first_day else None
        until = (
            start_of_day(self.last_day + timedelta(days=1), self.zone) if self.last_day else None
        )
        return AuditFilter(self.actor, self.action, since, until)


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and the cursor of the next page (None at the end)."""

    entries: list[AuditEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class AuditActorChoice:
    """Someone the log can be narrowed to: a member or an API key of the account."""

    who: str  # ``Actor.who``: the person's ``issuer#sub`` or the key id
    label: str
    kind: str  # "member" or "api_key"


class AuditLogService:
    """Records what has no other write to go with, and reads one account's audit log."""

    def __init__(
        self,
        repository: AuditLogRepository,
        cursors: CursorCodec,
        accounts: AccountRepository,
        api_keys: ApiKeyRepository,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._repository = repository
        self._cursors = cursors
        self._accounts = accounts
        self._api_keys = api_keys
        self._now = clock

    def actor_choices(self, account_id: str) -> list[AuditActorChoice]:
        """Return the account's members (by email) and API keys (by name), to filter by."""
        members = [
            AuditActorChoice(m.person.key, m.email or m.name or m.person.sub, "member")
            for m in self._accounts.members_of(account_id)
        ]
        keys = [
            AuditActorChoice(k.key_id, f"{k.name} (API key)", "api_key")
            for k in self._api_keys.list_for_merchant(account_id)
        ]
        return sorted(members, key=lambda c: c.label.casefold()) + keys

    def record_session(self, actor: Actor, action: AuditAction) -> None:
        """Record a sign-in, sign-out or sign-out everywhere of the person acting."""
        if action not in SESSION_ACTIONS:
            raise ValueError(f"{action} is written with its change, not on its own")
        note = audit_note(actor, action, self._now())
        if note is None or actor.person is None:
            return  # only a person signs in and out
        self._repository.append(note.entry("person", actor.person.key, target_label=actor.label))

    def list_entries(
        self,
        account_id: str,
        query: AuditQuery,
        cursor: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AuditPage:
        """Return a page of the account's entries, newest first; raise InvalidCursor if bad."""
        fingerprint = query.fingerprint()
        state = self._cursors.decode(cursor, account_id, fingerprint) if cursor else {}
        wanted = query.as_filter()
        # One more than a page, so "Next page" only shows when there really is more.
        found = self._repository.newest_first(account_id, wanted, page_size + 1, state.get("key"))
        entries = found.entries[:page_size]
        next_key: dict[str, Any] | None
        if len(found.entries) > page_size:
            next_key = self._repository.key_after(entries[-1], wanted)
        else:
            next_key = found.last_key  # None at the end; set when a filtered read stopped early
        next_cursor = (
            self._cursors.encode({"key": next_key}, account_id, fingerprint) if next_key else None
        )
        return AuditPage(entries, next_cursor)

    def export(self, account_id: str, query: AuditQuery) -> Iterator[AuditEntry]:
        """Yield every entry the query matches, newest first, page by page."""
        wanted = query.as_filter()
        start_key: dict[str, Any] | None = None
        while True:
            found = self._repository.newest_first(account_id, wanted, 500, start_key)
            yield from found.entries
            if found.last_key is None:
                return
            start_key = found.last_key
