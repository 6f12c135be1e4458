"""Account use cases: open an account at sign-in, check a membership, switch, migrate.

A person's first sign-in makes their account, with them as its Owner, unless they used the
dashboard before accounts and people were told apart: then the data stored under their ``sub``
is their account (its id stays the ``sub``, so nothing stored is rewritten), and it is adopted
the same way ``migrate-accounts`` does for every merchant in the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import NotFound
from dashboard.domain.accounts import (
    NEW_ACCOUNT_PREFIX,
    Account,
    Membership,
    PersonRecord,
    default_account_name,
    new_account_id,
)
from dashboard.domain.actor import Person, Role
from dashboard.domain.timezones import DEFAULT_ZONE, is_offered
from dashboard.store.accounts import AccountRepository, PersonAlreadyExists

log = logging.getLogger(__name__)


class NotAMember(NotFound):
    """Raised when a person asks for an account they are not a member of."""

    title = "Account not found"
    message = "There is no such account among yours."


@dataclass(frozen=True)
class MigrationCounts:
    """What ``migrate-accounts`` did (or, with ``--dry-run``, would do)."""

    merchants: int = 0
    migrated: int = 0
    already_done: int = 0


class AccountService:
    """Opens, checks and switches the account a person works in; knows nothing of HTTP."""

    def __init__(
        self, repository: AccountRepository, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._repository = repository
        self.clock = clock

    def open_at_sign_in(
        self,
        person: Person,
        email: str | None,
        name: str | None,
        browser_zone: str | None = None,
    ) -> Membership:
        """Return the membership a person's new session works in, making their account if new.

        A returning person opens the account they last worked in (or, if they were removed from
        it, another of theirs; with none left, a new account of their own). A new account's time
        zone is ``browser_zone`` (what the sign-in page's browser said) when it is one offered,
        else the default.
        """
        now = self.clock()
        zone = browser_zone if browser_zone and is_offered(browser_zone) else DEFAULT_ZONE
        record = self._repository.get_person(person)
        if record is None:
            try:
                return self._first_sign_in(person, email, name, now, zone)
            except PersonAlreadyExists:
                # Two first sign-ins at once: the other made the person and its account.
                record = self._repository.get_person(person)
                assert record is not None, "the person was just written"
        record = PersonRecord(
            person, email, name, record.last_account_id, record.first_sign_in_at, now
        )
        membership = self._usable_membership(person, record.last_account_id)
        if membership is None:
            membership = self._new_account(person, email, name, now, zone)
        self._repository.record_sign_in(record, membership)
        if membership.account_id != record.last_account_id:
            self._repository.set_last_account(person, membership.account_id)
        return membership

    def membership(self, person: Person, account_id: str) -> Membership | None:
        """Return the person's membership of the account (read strongly), or None."""
        return self._repository.get_membership(account_id, person)

    def fallback_membership(self, person: Person) -> Membership | None:
        """Return another account of the person's, for a session whose account they left."""
        return self._usable_membership(person, None)

    def accounts_of(self, person: Person) -> list[Membership]:
        """Return the person's accounts, by name, for the account switcher."""
        return sorted(
            self._repository.memberships_of(person),
            key=lambda m: (m.account_name.casefold(), m.account_id),
        )

    def member_emails(self, account_id: str) -> dict[str, str]:
        """Return the email of each member of the account who has one, by person key.

        What records who made something (``Actor.who``) is a person key: this names them.
        """
        return {
            member.person.key: member.email
            for member in self._repository.members_of(account_id)
            if member.email
        }

    def switch(self, person: Person, account_id: str) -> Membership:
        """Return the person's membership of ``account_id`` and make it their last account.

        Raise NotAMember unless they are a member: a switch never opens somebody else's account.
        """
        membership = self._repository.get_membership(account_id, person) if account_id else None
        if membership is None:
            raise NotAMember(account_id)
        self._repository.set_last_account(person, account_id)
        return membership

    def migrate(
        self, issuer: str, user_ids: Iterable[str], dry_run: bool = False
    ) -> MigrationCounts:
        """Write the account and Owner membership of every legacy merchant that lacks them.

        A legacy merchant's account id is its ``userId``, the ``sub`` of its one person at
        ``issuer``. Idempotent: what exists is left as it is and counted as already done.
        """
        merchants = migrated = already = 0
        for user_id in user_ids:
            merchants += 1
            person = Person(issuer, user_id)
            if self._is_migrated(person, user_id):
                already += 1
                continue
            migrated += 1
            if dry_run:
                continue
            now = self.clock()
            record, account, owner = self._legacy_items(person, None, None, now, DEFAULT_ZONE)
            self._repository.add_account_if_absent(record, account, owner)
        return MigrationCounts(merchants, migrated, already)

    def _is_migrated(self, person: Person, account_id: str) -> bool:
        return (
            self._repository.get_person(person) is not None
            and self._repository.account_exists(account_id)
            and self._repository.get_membership(account_id, person) is not None
        )

    def _first_sign_in(
        self, person: Person, email: str | None, name: str | None, now: datetime, zone: str
    ) -> Membership:
        if self._has_legacy_account(person):
            record, account, owner = self._legacy_items(person, email, name, now, zone)
            log.info("Adopting the account stored under a legacy owner key at first sign-in")
        else:
            account_id = new_account_id()
            account = Account(account_id, default_account_name(email, name), now, zone)
            owner = _owner(account, person, email, name, now)
            record = PersonRecord(person, email, name, account_id, now, now)
        self._repository.create_person_with_account(record, account, owner)
        return owner

    def _has_legacy_account(self, person: Person) -> bool:
        # An ``acct_`` subject is never a legacy owner key: those ids belong to new accounts,
        # and adopting one would make a stranger the Owner of somebody else's account.
        if person.sub.startswith(NEW_ACCOUNT_PREFIX):
            return False
        return self._repository.has_legacy_data(person.sub)

    def _legacy_items(
        self, person: Person, email: str | None, name: str | None, now: datetime, zone: str
    ) -> tuple[PersonRecord, Account, Membership]:
        account = Account(person.sub, default_account_name(email, name or person.sub), now, zone)
        owner = _owner(account, person, email, name, now)
        return PersonRecord(person, email, name, person.sub, now, now), account, owner

    def _new_account(
        self, person: Person, email: str | None, name: str | None, now: datetime, zone: str
    ) -> Membership:
        account = Account(new_account_id(), default_account_name(email, name), now, zone)
        owner = _owner(account, person, email, name, now)
        self._repository.add_account_if_absent(
            PersonRecord(person, email, name, account.account_id, now, now), account, owner
        )
        return owner

    def _usable_membership(self, person: Person, preferred: str | None) -> Membership | None:
        if preferred is not None:
            membership = self._repository.get_membership(preferred, person)
            if membership is not None:
                return membership
        others = self.accounts_of(person)
        return others[0] if others else None


def _owner(
    account: Account, person: Person, email: str | None, name: str | None, now: datetime
) -> Membership:
    return Membership(
        account_id=account.account_id,
        account_name=account.name,
        time_zone=account.time_zone,
        person=person,
        role=Role.OWNER,
        email=email,
        name=name,
        joined_at=now,
        last_sign_in_at=now,
    )
