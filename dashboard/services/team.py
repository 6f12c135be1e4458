"""Team use cases: the Team page's view, change a role, remove, leave, transfer ownership.

Invitations are ``dashboard.services.invitations``. Every rule is enforced here, whatever the
page shows (``dashboard.domain.team``): the service refuses what the actor's role may not do,
and each change is one transaction with its audit entry, conditional on what the decision was
made on, so concurrent changes cannot break the last-owner rule: a change that takes an Owner
away names another Owner who must still be one when it lands (the acting Owner, or for one
leaving, another), and DynamoDB's transactions are serializable, so of two Owners demoting each
other at once one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import InvalidInput, NotFound
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction
from dashboard.domain.notifications import Notice, clean_notices, notices_for
from dashboard.domain.team import (
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
    grantable_roles,
)
from dashboard.services.team_entries import audit_entry
from dashboard.store.accounts import AccountRepository
from dashboard.store.team import OWNER, TeamRepository, TeamWriteRefused


class MemberNotFound(NotFound):
    """Raised for a member who is not (or no longer) in the account."""

    title = "Member not found"
    message = "This person is not a member of this account (any more)."


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
        entry = audit_entry(
            self.clock(),
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
        entry = audit_entry(
            self.clock(),
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
        entry = audit_entry(
            self.clock(),
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
        entry = audit_entry(
            self.clock(),
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

    # -- the member's own notifications ------------------------------------------------------

    def notices_of(self, actor: Actor) -> tuple[list[Notice], frozenset[Notice]]:
        """Return the notices the actor may choose and those they chose (one GetItem)."""
        you = self._you(actor)
        return notices_for(you.role), you.notices

    def set_notices(self, actor: Actor, chosen: list[str]) -> frozenset[Notice]:
        """Store what the actor asks to be emailed about in this account; return it.

        Raise NoticeNotAllowed for a notice their role may not have, MemberNotFound for an
        actor who is no member (an API key), TeamChangedMeanwhile when their role changed.
        """
        you = self._you(actor)
        notices = clean_notices(you.role, chosen)
        if notices == you.notices:
            return notices
        entry = audit_entry(
            self.clock(),
            actor,
            you,
            AuditAction.NOTIFICATIONS_CHANGED,
            "member",
            you.person.key,
            before={"email": you.email or "", "notices": _listed(you.notices)},
            after={"email": you.email or "", "notices": _listed(notices)},
        )
        try:
            self._team.set_notices(you, notices, entry)
        except TeamWriteRefused as exc:
            raise TeamChangedMeanwhile() from exc
        return notices

    def _you(self, actor: Actor) -> Membership:
        you = (
            self._accounts.get_membership(actor.account_id, actor.person) if actor.person else None
        )
        if you is None:
            raise MemberNotFound()
        return you

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


def _listed(notices: frozenset[Notice]) -> str:
    return ", ".join(n.label for n in Notice if n in notices) or "none"


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
