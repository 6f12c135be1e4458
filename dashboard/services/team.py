"""Team use cases: invite, accept, revoke, change a role, remove, leave, transfer ownership.

Every rule is enforced here, whatever the page shows (``dashboard.domain.team``): the service
refuses what the actor's role may not do, and each change is one transaction with its audit
entry, conditional on what the decision was made on, so concurrent changes cannot break the
last-owner rule: a change that takes an Owner away names another Owner who must still be one
when it lands (the acting Owner, or for one leaving, another), and DynamoDB's transactions are
serializable, so of two Owners demoting each other at once one is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction, AuditEntry
from dashboard.domain.team import (
    INVITATION_TOKEN_BYTES,
    INVITATION_VALIDITY,
    ROLES_BY_RANK,
    CannotChangeOwnRole,
    Invitation,
    InvitationStatus,
    LastOwner,
    TeamChangedMeanwhile,
    TeamChangeForbidden,
    can_manage,
    check_may_change,
    check_may_grant,
    clean_invitation_email,
    grantable_roles,
    hash_invitation_token,
    same_email,
)
from dashboard.store.accounts import AccountRepository
from dashboard.store.team import INVITATION, MEMBER, OWNER, TeamRepository, TeamWriteRefused


class MemberNotFound(NotFound):
    """Raised for a member who is not (or no longer) in the account."""

    title = "Member not found"
    message = "This person is not a member of this account (any more)."


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


@dataclass(frozen=True)
class TeamMember:
    """A member as the Team page shows them to the actor, with what the actor may do."""

    membership: Membership
    last_sign_in_at: datetime | None
    is_you: bool
    role_choices: list[Role]  # empty: the actor cannot change this member's role
    removable: bool


@dataclass(frozen=True)
class Team:
    """An account's members and pending invitations, and what the actor may do with them."""

    members: list[TeamMember]
    invitations: list[Invitation]  # pending, oldest first
    grantable_roles: list[Role]  # empty: the actor cannot invite
    can_leave: bool
    transfer_candidates: list[Membership]  # empty unless the actor is an Owner

    @property
    def owner_count(self) -> int:
        """Return how many Owners the account has."""
        return sum(1 for member in self.members if member.membership.role is Role.OWNER)


class TeamService:
    """The team use cases of one account at a time; knows nothing of HTTP."""

    def __init__(
        self,
        team: TeamRepository,
        accounts: AccountRepository,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._team = team
        self._accounts = accounts
        self.clock = clock

    # -- reading ------------------------------------------------------------------------------

    def team_of(self, actor: Actor) -> Team:
        """Return the actor's account's members (Owners first) and pending invitations."""
        members = self._accounts.members_of(actor.account_id)
        people = self._team.people(member.person for member in members)
        owners = sum(1 for member in members if member.role is Role.OWNER)
        rows = []
        for member in sorted(members, key=_member_order):
            is_you = member.person == actor.person
            manageable = not is_you and can_manage(actor.role, member.role)
            record = people.get(member.person)
            rows.append(
                TeamMember(
                    membership=member,
                    last_sign_in_at=record.last_sign_in_at if record else member.last_sign_in_at,
                    is_you=is_you,
                    role_choices=grantable_roles(actor.role) if manageable else [],
                    removable=manageable,
                )
            )
        now = self.clock()
        pending = [
            invitation
            for invitation in self._team.invitations_of(actor.account_id)
            if invitation.status(now) is InvitationStatus.PENDING
        ]
        is_owner = actor.role is Role.OWNER
        return Team(
            members=rows,
            # The invitations are the managers' business; the others see who is a member.
            invitations=pending if grantable_roles(actor.role) else [],
            grantable_roles=grantable_roles(actor.role),
            can_leave=not (is_owner and owners <= 1),
            transfer_candidates=[
                row.membership
                for row in rows
                if is_owner and not row.is_you and row.membership.role is not Role.OWNER
            ],
        )

    def invitation_for_link(self, token: str) -> Invitation:
        """Return the invitation an invitation link names; raise InvitationNotFound."""
        invitation = self._team.invitation_by_token_hash(hash_invitation_token(token))
        if invitation is None:
            raise InvitationNotFound(token[:6])
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

    # -- invitations --------------------------------------------------------------------------

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
            invited_by_label=_label(actor, you),
            created_at=now,
            expires_at=now + INVITATION_VALIDITY,
        )
        token = secrets.token_urlsafe(INVITATION_TOKEN_BYTES)
        entry = self._entry(
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
        entry = self._entry(
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
        membership = Membership(
            account_id=invitation.account_id,
            account_name=invitation.account_name,
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
        entry = self._entry(
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

    # -- members ------------------------------------------------------------------------------

    def change_role(self, actor: Actor, member_key: str, role: Role) -> Membership:
        """Give a member another role; return the membership as it is now.

        Raise CannotChangeOwnRole, TeamChangeForbidden (Owner changes need an Owner),
        LastOwner, or TeamChangedMeanwhile when the member changed since it was read.
        """
        members = self._accounts.members_of(actor.account_id)
        member = _member(members, member_key)
        check_may_change(actor.role, member.role, member.person == actor.person)
        check_may_grant(actor.role, role)
        if role is member.role:
            return member
        you = _find(members, actor.person)
        entry = self._entry(
            actor,
            you,
            AuditAction.MEMBER_ROLE_CHANGED,
            "member",
            member.person.key,
            before={"email": member.email or "", "role": member.role.label},
            after={"email": member.email or "", "role": role.label},
        )
        # Taking Owner away needs an Owner to act (checked above), who must still be one.
        self._write_member_change(
            lambda kept: self._team.change_role(member, role, entry, owner_kept=kept),
            actor,
            taking_owner=member.role is Role.OWNER,
        )
        return replace(member, role=role)

    def remove_member(self, actor: Actor, member_key: str) -> Membership:
        """Remove another member from the account; return who was removed.

        Their next request no longer sees the account. Raise as change_role does.
        """
        members = self._accounts.members_of(actor.account_id)
        member = _member(members, member_key)
        check_may_change(actor.role, member.role, member.person == actor.person)
        entry = self._entry(
            actor,
            _find(members, actor.person),
            AuditAction.MEMBER_REMOVED,
            "member",
            member.person.key,
            before={"email": member.email or "", "role": member.role.label},
        )
        self._write_member_change(
            lambda kept: self._team.remove_member(member, entry, owner_kept=kept),
            actor,
            taking_owner=member.role is Role.OWNER,
        )
        return member

    def leave(self, actor: Actor) -> Membership:
        """Take the actor out of their account; raise LastOwner if they are its last Owner."""
        members = self._accounts.members_of(actor.account_id)
        you = _find(members, actor.person)
        if you is None:
            raise MemberNotFound()
        other_owner = next(
            (m.person for m in members if m.role is Role.OWNER and m.person != you.person), None
        )
        if you.role is Role.OWNER and other_owner is None:
            raise LastOwner()
        entry = self._entry(
            actor,
            you,
            AuditAction.MEMBER_REMOVED,
            "member",
            you.person.key,
            before={"email": you.email or "", "role": you.role.label},
        )
        kept = other_owner if you.role is Role.OWNER else None
        try:
            self._team.remove_member(you, entry, owner_kept=kept)
        except TeamWriteRefused as exc:
            raise (LastOwner() if exc.item == OWNER else TeamChangedMeanwhile()) from exc
        return you

    def transfer_ownership(self, actor: Actor, member_key: str) -> Membership:
        """Make another member an Owner and the acting Owner an Admin, in one transaction."""
        if actor.role is not Role.OWNER:
            raise TeamChangeForbidden("Only an Owner can transfer ownership.")
        members = self._accounts.members_of(actor.account_id)
        member = _member(members, member_key)
        you = _find(members, actor.person)
        if you is None or you.role is not Role.OWNER:
            raise TeamChangedMeanwhile()
        if member.person == you.person:
            raise CannotChangeOwnRole()
        if member.role is Role.OWNER:
            raise InvalidInput({"member": f"{member.email or 'This member'} is an Owner already."})
        entry = self._entry(
            actor,
            you,
            AuditAction.OWNERSHIP_TRANSFERRED,
            "member",
            member.person.key,
            before={"owner": you.email or "", "new_owner_role": member.role.label},
            after={"owner": member.email or "", "previous_owner_role": Role.ADMIN.label},
        )
        try:
            self._team.transfer_ownership(you, member, entry)
        except TeamWriteRefused as exc:
            raise (LastOwner() if exc.item == OWNER else TeamChangedMeanwhile()) from exc
        return replace(member, role=Role.OWNER)

    # -- helpers ------------------------------------------------------------------------------

    def _write_member_change(
        self, write: Callable[[Person | None], None], actor: Actor, taking_owner: bool
    ) -> None:
        kept = actor.person if taking_owner else None
        try:
            write(kept)
        except TeamWriteRefused as exc:
            # The acting Owner was demoted or removed meanwhile (an Owner demoting them at the
            # same moment): this change would have left the account without an Owner.
            raise (LastOwner() if exc.item == OWNER else TeamChangedMeanwhile()) from exc

    def _entry(
        self,
        actor: Actor,
        you: Membership | None,
        action: AuditAction,
        target_type: str,
        target_id: str,
        before: dict[str, str] | None = None,
        after: dict[str, str] | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            account_id=actor.account_id,
            entry_id=new_id(),
            at=self.clock(),
            action=action,
            via=actor.channel,
            actor=actor.who,
            actor_label=_label(actor, you),
            ip_address=actor.ip_address,
            target_type=target_type,
            target_id=target_id,
            before=before or {},
            after=after or {},
        )


def _label(actor: Actor, you: Membership | None) -> str | None:
    """Return what the audit log calls the actor: the resolver's label, else their email."""
    return actor.label or (you.email if you else None)


def _member_order(member: Membership) -> tuple[int, str]:
    rank = ROLES_BY_RANK.index(member.role)
    return rank, (member.email or member.person.sub).casefold()


def _find(members: list[Membership], person: Person | None) -> Membership | None:
    return next((member for member in members if member.person == person), None)


def _member(members: list[Membership], member_key: str) -> Membership:
    member = next((m for m in members if m.person.key == member_key), None)
    if member is None:
        raise MemberNotFound(member_key)
    return member
