"""Merchant accounts and the people who are members of them.

An **account** is the merchant: its payments, orders, API keys, settings and statistics are
stored under its id in the ``userId`` key attributes. A **person** signs in (an OpenID Connect
issuer and subject) and is a **member** of one or more accounts, with a role in each.

Accounts made before people and accounts were told apart keep the id they always had: the
``sub`` of the one person who used them (a *legacy* account id). New accounts get ``acct_`` and a
UUIDv7, so they sort by creation and can never be taken for a subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.core.ids import new_id
from dashboard.domain.actor import Person, Role
from dashboard.domain.notifications import Notice
from dashboard.domain.timezones import DEFAULT_ZONE

NEW_ACCOUNT_PREFIX = "acct_"


def new_account_id() -> str:
    """Return the id of a new account: ``acct_`` and a UUIDv7."""
    return NEW_ACCOUNT_PREFIX + new_id()


def default_account_name(email: str | None, name: str | None) -> str:
    """Return what to call a person's first account until the merchant names it."""
    return name or email or "My account"


@dataclass(frozen=True)
class Account:
    """A merchant account."""

    account_id: str
    name: str
    created_at: datetime
    time_zone: str = DEFAULT_ZONE


@dataclass(frozen=True)
class Membership:
    """A person's place in one account: the role, and what to show of the account."""

    account_id: str
    account_name: str
    person: Person
    role: Role
    email: str | None = None
    name: str | None = None
    joined_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    time_zone: str | None = None  # the account's, copied like its name (None: the default)
    notices: frozenset[Notice] = frozenset()  # what they asked to be emailed about (their own)


@dataclass(frozen=True)
class PersonRecord:
    """A person as stored: who they are, what the provider last said of them, their last account."""

    person: Person
    email: str | None
    name: str | None
    last_account_id: str | None
    first_sign_in_at: datetime
    last_sign_in_at: datetime
