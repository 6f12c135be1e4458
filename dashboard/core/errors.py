"""What an error means to whoever meets it: the catalogue every domain exception belongs to.

A service raises a domain exception (``PaymentNotFound``, ``InvalidTransition``,
``StoreUnavailable``...); each one subclasses one kind below and says, in the merchant's words,
what went wrong. The web layer turns the kind into an HTTP status and renders the page, the htmx
fragment or the API's problem details from it, in one place (``dashboard.web.errors``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """What an error means, whatever raised it."""

    INVALID_INPUT = "invalid-input"  # the request's input breaks a rule; it can be corrected
    NOT_FOUND = "not-found"  # no such thing in the account (another account's is not found)
    CONFLICT = "conflict"  # the thing's state does not allow this now, or it changed meanwhile
    FORBIDDEN = "forbidden"  # the actor may not do this in the account
    UNAVAILABLE = "unavailable"  # a service we depend on is not answering; try again later
    REFUSED_UPSTREAM = "refused-upstream"  # a service we depend on refused the request itself


class DomainError(Exception):
    """An error with a meaning (``kind``), a title and a message fit to show to the merchant.

    ``message`` is the fixed explanation; left as None, the exception's own text is shown (for
    errors whose text says why, in the merchant's words).
    """

    kind: ClassVar[ErrorKind]
    title: ClassVar[str]
    message: ClassVar[str | None] = None

    def explanation(self) -> str:
        """Return what to tell the merchant about this error."""
        return self.message if self.message is not None else str(self)


class InvalidInput(DomainError):
    """Input that breaks a rule; ``errors`` maps each field to what is wrong with it."""

    kind = ErrorKind.INVALID_INPUT
    title = "Validation failed"

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class NotFound(DomainError):
    """No such thing in the account."""

    kind = ErrorKind.NOT_FOUND
    title = "Not found"
    message = "There is no such thing in your account."


class Conflict(DomainError):
    """The state does not allow this now; the text says why."""

    kind = ErrorKind.CONFLICT
    title = "Not possible now"


class Forbidden(DomainError):
    """The actor may not do this."""

    kind = ErrorKind.FORBIDDEN
    title = "Not allowed"
    message = "You are not allowed to do this in this account."


class Unavailable(DomainError):
    """A service we depend on is not answering; nothing was lost, try again shortly."""

    kind = ErrorKind.UNAVAILABLE
    title = "Service unavailable"
    message = "A service we depend on is not answering right now. Please try again in a minute."


class RefusedUpstream(DomainError):
    """A service we depend on refused the request; the same request will be refused again."""

    kind = ErrorKind.REFUSED_UPSTREAM
    title = "Refused by a service we depend on"
