"""The signed-in merchant, as flask-login sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_login import UserMixin


@dataclass(frozen=True)
class User(UserMixin):
    """A merchant: the OIDC subject (our owner key for payments), an email and a name."""

    sub: str
    email: str | None = None
    name: str | None = None

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session: the OIDC subject."""
        return self.sub

    @property
    def display_name(self) -> str:
        """Return what to call the merchant in the header."""
        return self.name or self.email or self.sub

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> User:
        """Return the merchant described by ID-token or userinfo claims."""
        return cls(sub=claims["sub"], email=claims.get("email"), name=claims.get("name"))
