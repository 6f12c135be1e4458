"""The signed-in person and the account their session works in, as flask-login sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_login import UserMixin

from dashboard.domain.actor import Person, Role


@dataclass(frozen=True)
class User(UserMixin):
    """A signed-in person, working in one account with a role there.

    ``session_hash`` names the server-side session this came from (None for an API key's
    request, which has no session).
    """

    person: Person
    account_id: str
    email: str | None = None
    name: str | None = None
    role: Role = Role.OWNER
    account_name: str | None = None
    time_zone: str | None = None  # the account's, as its membership item copies it
    session_hash: str | None = None
    auth_time: datetime | None = None  # when the provider last authenticated them
    email_verified: bool = False  # whether the provider vouched for ``email``

    def get_id(self) -> str:
        """Return the id flask-login knows the user by: the person's key."""
        return self.person.key

    @property
    def display_name(self) -> str:
        """Return what to call the person in the header."""
        return self.name or self.email or self.person.sub
