"""An account's team: invitations, and the rules of who may change whose role.

The rules live here, as plain functions, so the Team page hides exactly the controls that the
service would refuse: nobody changes their own role or removes themselves (they may leave);
only Owners grant, change or remove Owner; an account never loses its last Owner.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from dashboard.core.errors import Conflict, Forbidden, InvalidInput
from dashboard.domain.actor import Role
from dashboard.domain.permissions import Permission, role_can

INVITATION_VALIDITY = timedelta(days=10)
MAX_EMAIL_LENGTH = 254
INVITATION_TOKEN_BYTES = 32  # 256 bits; secrets.token_urlsafe makes 43 characters of them
# Highest first: the order of the role menus.
ROLES_BY_RANK = (Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.PAYMENTS_OPERATOR, Role.VIEWER)

# What each role may do, in the merchant's words (the Team page and the invitation say it).
ROLE_SUMMARIES = {
    Role.OWNER: "Everything, including managing Owners and transferring ownership.",
    Role.ADMIN: "Everything but Owner changes: members, settings, API keys, payments and orders.",
    Role.DEVELOPER: "Creates and revokes API keys; sees everything else.",
    Role.PAYMENTS_OPERATOR: "Creates, cancels and retries payment links; orders; sees the rest.",
    Role.VIEWER: "Sees payments, orders and statistics; changes nothing.",
}


def hash_invitation_token(token: str) -> str:
    """Return the stored form of an invitation token: its SHA-256, hex.

    256 random bits need no slow hash: there is nothing to guess from.
    """
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def clean_invitation_email(email: str | None) -> str:
    """Return the address trimmed; raise InvalidInput (``email``) unless it is one."""
    email = (email or "").strip()
    if not email:
        raise InvalidInput({"email": "Enter the email address of the person to invite."})
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidInput({"email": f"Use at most {MAX_EMAIL_LENGTH} characters."})
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput({"email": "Enter an email address such as name@example.com."}) from None
    return email


def same_email(first: str | None, second: str | None) -> bool:
    """Return True when two addresses are the same, ignoring case and surrounding spaces."""
    if not first or not second:
        return False
    return first.strip().casefold() == second.strip().casefold()


class InvitationStatus(StrEnum):
    """Where an invitation stands (expired is read from the time, not stored)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Invitation:
    """An invitation to join an account with a role, for one email address.

    The link's token is never stored, only its hash (in the Lookups table).
    """

    account_id: str
    invitation_id: str
    account_name: str
    email: str
    role: Role
    invited_by: str | None  # Actor.who of whoever invited
    invited_by_label: str | None  # what to show for them (their email)
    created_at: datetime
    expires_at: datetime
    stored_status: InvitationStatus = InvitationStatus.PENDING
    accepted_by: str | None = None
    accepted_at: datetime | None = None

    def status(self, now: datetime) -> InvitationStatus:
        """Return the invitation's status at ``now``: a pending one expires after 10 days."""
        if self.stored_status is InvitationStatus.PENDING and now >= self.expires_at:
            return InvitationStatus.EXPIRED
        return self.stored_status


# -- what may be refused ----------------------------------------------------------------------


class TeamChangeForbidden(Forbidden):
    """The actor's role does not allow this change to the team; the text says why."""

    def explanation(self) -> str:
        """Return the exception's own text: it says why."""
        return str(self)


class CannotChangeOwnRole(Forbidden):
    """Raised when a member tries to change their own role or remove themselves."""

    message = (
        "You cannot change your own role or remove yourself. Another Owner or Admin can, "
        "or you can leave the account."
    )


class LastOwner(Conflict):
    """Raised when a change would leave the account without an Owner."""

    title = "An Owner is needed"
    message = (
        "Every account needs at least one Owner. Make another member an Owner first, "
        "or transfer ownership."
    )


class TeamChangedMeanwhile(Conflict):
    """Raised when the member's role changed, or they left, since the page was shown."""

    title = "The team changed meanwhile"
    message = "Someone changed this member meanwhile. Reload the page and try again."


# -- the rules --------------------------------------------------------------------------------


def can_manage(actor_role: Role, target_role: Role) -> bool:
    """Return True when ``actor_role`` may change or remove a member who has ``target_role``."""
    if target_role is Role.OWNER:
        return role_can(actor_role, Permission.MANAGE_OWNERS)
    return role_can(actor_role, Permission.MANAGE_MEMBERS)


def grantable_roles(actor_role: Role) -> list[Role]:
    """Return the roles ``actor_role`` may give (invite with, or change to), highest first."""
    if not role_can(actor_role, Permission.MANAGE_MEMBERS):
        return []
    return [role for role in ROLES_BY_RANK if can_manage(actor_role, role)]


def check_may_grant(actor_role: Role, role: Role) -> None:
    """Raise TeamChangeForbidden unless ``actor_role`` may give ``role`` to someone."""
    if not role_can(actor_role, Permission.MANAGE_MEMBERS):
        raise TeamChangeForbidden("Only an Owner or an Admin can invite members or change roles.")
    if not can_manage(actor_role, role):
        raise TeamChangeForbidden("Only an Owner can grant, change or remove the Owner role.")


def check_may_change(actor_role: Role, target_role: Role, is_self: bool) -> None:
    """Raise unless ``actor_role`` may change the role of, or remove, a ``target_role`` member."""
    if is_self:
        raise CannotChangeOwnRole()
    check_may_grant(actor_role, target_role)
