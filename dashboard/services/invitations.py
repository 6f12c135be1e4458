"""Invitation use cases: invite by email with a role, revoke, show a link, accept it once.

An invitation's link carries a 256-bit token that is returned once, when the invitation is
made, and stored only as its SHA-256. Accepting is one transaction: the new member item, the
invitation marked used (conditional on it being pending and unexpired, so it works once) and
the audit entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction
from dashboard.domain.team import (
    INVITATION_TOKEN_BYTES,
    INVITATION_VALIDITY,
    Invitation,
    InvitationStatus,
    check_may_grant,
    clean_invitation_email,
    hash_invitation_token,
    same_email,
)
from dashboard.services.team_entries import actor_label, audit_entry
from dashboard.store.accounts import AccountRepository
from dashboard.store.team import INVITATION, MEMBER, TeamRepository, TeamWriteRefused


class InvitationNotFound(NotFound):
    """Raised for an invitation link or id that names no invitation of the account."""

    title = "Invitation not found"
    message = "This invitation link is not valid. Ask the person who invited you for a new one."


class InvitationNotUsable(Conflict):
    """Raised when an invitation was used, revoked or has expired; the text says which."""

    title = "Invitation not usable"


class InvitationNotForYou(Forbidden):
    """Raised when the signed-in person may not accept this invitation; the text says why."""

    title = "Invitation not for this sign-in"

    def explanation(self) -> str:
        """Return the exception's own text: it says why."""
        return str(self)


class InvitationAlreadyCreated(Conflict):
    """Raised when the invite form is sent again: its invitation exists, its link shown once."""

    message = (
        "This invitation was already created and its link shown once. If you did not copy "
        "the link, revoke the invitation and invite again."
    )


class InvitationService:
    """Invites people to the actor's account and lets the invited accept; knows nothing of HTTP."""

    def __init__(
        self,
        team: TeamRepository,
        accounts: AccountRepository,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._team = team
        self._accounts = accounts
        self.clock = clock

    def invitation_for_link(self, token: str) -> Invitation:
        """Return the invitation an invitation link names; raise InvitationNotFound."""
        invitation = self._team.invitation_by_token_hash(hash_invitation_token(token))
        if invitation is None:
            raise InvitationNotFound()  # never the token: it would reach the logs
        return invitation

    def check_usable(self, invitation: Invitation) -> None:
        """Raise InvitationNotUsable if the invitation was used, revoked or has expired."""
        status = invitation.status(self.clock())
        if status is InvitationStatus.ACCEPTED:
            raise InvitationNotUsable("This invitation was already used. An invitation works once.")
        if status is InvitationStatus.REVOKED:
            raise InvitationNotUsable("This invitation was revoked. Ask for a new one.")
        if status is InvitationStatus.EXPIRED:
            raise InvitationNotUsable(
                "This invitation has expired: invitations are valid for 10 days. Ask for a new one."
            )

    def check_can_accept(
        self, invitation: Invitation, person: Person, email: str | None, email_verified: bool
    ) -> None:
        """Raise why ``person``, signed in as ``email``, may not accept; return if they may."""
        self.check_usable(invitation)
        if not same_email(email, invitation.email):
            raise InvitationNotForYou(
                f"You are signed in as {email or 'a person without an email address'}, but "
                f"this invitation is for {invitation.email}. Sign in as {invitation.email} "
                "to accept it."
            )
        if not email_verified:
            raise InvitationNotForYou(
                f"Your sign-in provider has not verified that {email} is yours. Verify your "
                "email address with it, then sign in again to accept."
            )
        if self._accounts.get_membership(invitation.account_id, person) is not None:
            raise InvitationNotUsable(f"You are already a member of {invitation.account_name}.")

    def invite(
        self, actor: Actor, invitation_id: str, email: str | None, role: Role
    ) -> tuple[Invitation, str]:
        """Invite ``email`` to the actor's account with ``role``; return it and its link token.

        The token is returned this once and stored only hashed. ``invitation_id`` is the id
        minted with the form: sent twice, it raises InvitationAlreadyCreated, never a second
        invitation. Raise TeamChangeForbidden, or InvalidInput for the email.
        """
        check_may_grant(actor.role, role)
        if self._team.get_invitation(actor.account_id, invitation_id) is not None:
            raise InvitationAlreadyCreated(invitation_id)
        email = clean_invitation_email(email)
        members = self._accounts.members_of(actor.account_id)
        if any(same_email(member.email, email) for member in members):
            raise InvalidInput({"email": f"{email} is already a member of this account."})
        now = self.clock()
        if any(
            same_email(invitation.email, email)
            and invitation.status(now) is InvitationStatus.PENDING
            for invitation in self._team.invitations_of(actor.account_id)
        ):
            raise InvalidInput(
                {"email": f"{email} has a pending invitation. Revoke it to invite them again."}
            )
        you = _find(members, actor.person)
        invitation = Invitation(
            account_id=actor.account_id,
            invitation_id=invitation_id,
            account_name=you.account_name if you else actor.account_id,
            email=email,
            role=role,
            invited_by=actor.who,
            invited_by_label=actor_label(actor, you),
            created_at=now,
            expires_at=now + INVITATION_VALIDITY,
        )
        token = secrets.token_urlsafe(INVITATION_TOKEN_BYTES)
        entry = audit_entry(
            self.clock(),
            actor,
            you,
            AuditAction.MEMBER_INVITED,
            "invitation",
            invitation_id,
            after={"email": email, "role": role.label},
        )
        try:
            self._team.add_invitation(invitation, hash_invitation_token(token), entry)
        except TeamWriteRefused as exc:
            if exc.item == INVITATION:  # the same form, sent twice at once
                raise InvitationAlreadyCreated(invitation_id) from exc
            raise
        return invitation, token

    def revoke_invitation(self, actor: Actor, invitation_id: str) -> Invitation:
        """Revoke a pending invitation: its link stops working. Raise if not pending."""
        invitation = self._team.get_invitation(actor.account_id, invitation_id)
        if invitation is None:
            raise InvitationNotFound(invitation_id)
        check_may_grant(actor.role, invitation.role)
        if invitation.status(self.clock()) is not InvitationStatus.PENDING:
            raise InvitationNotUsable("This invitation is no longer pending.")
        you = _find(self._accounts.members_of(actor.account_id), actor.person)
        entry = audit_entry(
            self.clock(),
            actor,
            you,
            AuditAction.INVITATION_REVOKED,
            "invitation",
            invitation_id,
            before={"email": invitation.email, "role": invitation.role.label},
        )
        try:
            self._team.revoke_invitation(invitation, self.clock(), entry)
        except TeamWriteRefused as exc:
            raise InvitationNotUsable("This invitation is no longer pending.") from exc
        return invitation

    def accept(
        self, actor: Actor, token: str, email: str | None, email_verified: bool, name: str | None
    ) -> Membership:
        """Make the signed-in person a member with the invitation's role; return the membership.

        Single use: marking the invitation used, the new member item and the audit entry are
        one transaction, conditional on the invitation still pending and unexpired.
        """
        person = actor.person
        if person is None:
            raise InvitationNotForYou("Sign in to accept an invitation.")
        invitation = self.invitation_for_link(token)
        self.check_can_accept(invitation, person, email, email_verified)
        now = self.clock()
        # The name and zone now, not when invited: they may have been changed meanwhile.
        account_name, time_zone = self._accounts.copied_to_members(invitation.account_id)
        membership = Membership(
            account_id=invitation.account_id,
            account_name=account_name or invitation.account_name,
            time_zone=time_zone,
            person=person,
            role=invitation.role,
            email=email,
            name=name,
            joined_at=now,
        )
        joining = Actor(
            invitation.account_id,
            actor.channel,
            person=person,
            role=invitation.role,
            label=actor.label or email,
            ip_address=actor.ip_address,
        )
        entry = audit_entry(
            self.clock(),
            joining,
            None,
            AuditAction.MEMBER_JOINED,
            "member",
            person.key,
            after={"email": email or "", "role": invitation.role.label},
        )
        try:
            self._team.accept_invitation(invitation, membership, now, entry)
        except TeamWriteRefused as exc:
            if exc.item == MEMBER:
                raise InvitationNotUsable(
                    f"You are already a member of {invitation.account_name}."
                ) from exc
            # Used, revoked or expired between the read and the write: say which.
            self.check_can_accept(self.invitation_for_link(token), person, email, email_verified)
            raise InvitationNotUsable("This invitation is no longer pending.") from exc
        return membership


def _find(members: list[Membership], person: Person | None) -> Membership | None:
    return next((member for member in members if member.person == person), None)
