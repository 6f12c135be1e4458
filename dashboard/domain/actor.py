"""Who is acting: the account a request or command works in, and the person or key behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dashboard.domain.api_keys import KeyScope


class Channel(StrEnum):
    """How the actor reached us."""

    BROWSER = "browser"  # the signed-in session cookie (pages, or the JSON API from a page)
    API = "api"  # an API key
    WEBHOOK = "webhook"  # a payment provider's signed event
    SYSTEM = "system"  # a flask command or a background job


class Role(StrEnum):
    """What a member may do in an account (see ``dashboard.domain.permissions``)."""

    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    PAYMENTS_OPERATOR = "payments_operator"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        """Return the role's name as the Team page shows it."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.OWNER: "Owner",
    Role.ADMIN: "Admin",
    Role.DEVELOPER: "Developer",
    Role.PAYMENTS_OPERATOR: "Payments operator",
    Role.VIEWER: "Viewer",
}


@dataclass(frozen=True)
class Person:
    """Someone who signs in: an OpenID Connect subject, unique only with its issuer."""

    issuer: str
    sub: str

    @property
    def key(self) -> str:
        """Return the person's key in the store: issuer and subject, joined by ``#``.

        An OpenID Connect issuer is a URL with no fragment, so the first ``#`` splits it again.
        """
        return f"{self.issuer}#{self.sub}"

    @classmethod
    def from_key(cls, key: str) -> Person:
        """Return the person a stored key names."""
        issuer, _, sub = key.partition("#")
        return cls(issuer, sub)


@dataclass(frozen=True)
class Actor:
    """The account acted in and who acts: a person, an API key, a provider, or the system.

    ``account_id`` is what the ``userId`` key attributes hold: the merchant account's id (for
    an account made before accounts and people were told apart, the ``sub`` of its person).
    """

    account_id: str
    channel: Channel
    person: Person | None = None
    api_key_id: str | None = None
    role: Role = Role.OWNER
    # For the audit log: what to call the actor (a person's email, a key's name) and the
    # address the request came from (as ProxyFix reads it behind a load balancer).
    label: str | None = None
    ip_address: str | None = None
    # What an API key actor may do (None for everyone else, who are judged by their role).
    key_scope: KeyScope | None = None
    # The account's time zone (an IANA name), for showing times and reading "days"; None when
    # not known, which reads as the default zone (see ``dashboard.domain.timezones``).
    time_zone: str | None = None

    @classmethod
    def for_person(cls, account_id: str, person: Person, role: Role = Role.OWNER) -> Actor:
        """Return the actor for a person signed in through the browser."""
        return cls(account_id, Channel.BROWSER, person=person, role=role)

    @classmethod
    def for_api_key(
        cls, account_id: str, key_id: str, scope: KeyScope = KeyScope.READ_ONLY
    ) -> Actor:
        """Return the actor for a request that presented one of the account's API keys."""
        return cls(account_id, Channel.API, api_key_id=key_id, key_scope=scope)

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

        A person reads as their key, ``issuer#sub`` (``Person.key``), an API key as its key id
        (12 letters and digits).
        """
        if self.person is not None:
            return self.person.key
        return self.api_key_id

    @property
    def uses_session(self) -> bool:
        """Return True when the session cookie proved who this is (so writes need CSRF)."""
        return self.channel is Channel.BROWSER
