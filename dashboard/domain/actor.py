"""Who is acting: the account a request or command works in, and the person or key behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    """How the actor reached us."""

    BROWSER = "browser"  # the signed-in session cookie (pages, or the JSON API from a page)
    API = "api"  # an API key
    WEBHOOK = "webhook"  # a payment provider's signed event
    SYSTEM = "system"  # a flask command or a background job


class Role(StrEnum):
    """What the actor may do in the account; everyone is its Owner until teams exist."""

    OWNER = "owner"


@dataclass(frozen=True)
class Person:
    """Someone who signs in: an OpenID Connect subject, unique only with its issuer."""

    issuer: str
    sub: str


@dataclass(frozen=True)
class Actor:
    """The account acted in and who acts: a person, an API key, a provider, or the system.

    ``account_id`` is what the ``userId`` key attributes hold: today the merchant's OIDC
    ``sub`` (or the user id its API key belongs to).
    """

    account_id: str
    channel: Channel
    person: Person | None = None
    api_key_id: str | None = None
    role: Role = Role.OWNER

    @classmethod
    def for_person(cls, account_id: str, person: Person) -> Actor:
        """Return the actor for a person signed in through the browser."""
        return cls(account_id, Channel.BROWSER, person=person)

    @classmethod
    def for_api_key(cls, account_id: str, key_id: str) -> Actor:
        """Return the actor for a request that presented one of the account's API keys."""
        return cls(account_id, Channel.API, api_key_id=key_id)

    @classmethod
    def for_webhook(cls, account_id: str) -> Actor:
        """Return the actor for a provider's event about one of the account's payments."""
        return cls(account_id, Channel.WEBHOOK)

    @classmethod
    def system(cls, account_id: str = "") -> Actor:
        """Return the actor for a command or job (``account_id`` empty when it spans all)."""
        return cls(account_id, Channel.SYSTEM)

    @property
    def who(self) -> str | None:
        """Return who acts, as stored on what they make or change; None for a provider or job.

        A person reads ``issuer#sub`` (a subject is unique only with its issuer; an issuer URL
        has no fragment, so no ``#``), an API key its key id (12 letters and digits).
        """
        if self.person is not None:
            return f"{self.person.issuer}#{self.person.sub}"
        return self.api_key_id

    @property
    def uses_session(self) -> bool:
        """Return True when the session cookie proved who this is (so writes need CSRF)."""
        return self.channel is Channel.BROWSER
