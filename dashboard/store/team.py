"""The team repository: invitations and member changes, each written with its audit entry.

Accounts table (beside ``account`` and ``member#{personKey}``, see ``store/accounts.py``):

* ``invite#{invitationId}``: one per invitation, with the invited email and role, who invited,
  its expiry and its status (``pending``, ``accepted``, ``revoked``).

Lookups table: ``invitation#{sha256 of the token}`` names the account and the invitation, so
the link finds its invitation with two GetItems; the token itself is stored nowhere.

Every change is one ``TransactWriteItems`` with the audit entry it records. Each item carries
the condition that makes the change safe under concurrency (the role the change was decided
on, an invitation still pending, an Owner still there); a refusal names the item that refused
(``TeamWriteRefused.item``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dashboard.domain.accounts import Membership, PersonRecord
from dashboard.domain.actor import Person, Role
from dashboard.domain.audit import AuditEntry
from dashboard.domain.notifications import Notice
from dashboard.domain.team import Invitation, InvitationStatus
from dashboard.store.accounts import (
    account_items,
    member_item,
    member_sk,
    person_from_item,
)
from dashboard.store.audit import audit_put
from dashboard.store.dynamo import (
    ConditionFailed,
    TableNames,
    batch_get,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    transact_write,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INVITE_PREFIX = "invite#"

# The names of the items a team change writes or checks, as TeamWriteRefused reports them.
INVITATION = "invitation"
LOOKUP = "lookup"
MEMBER = "member"  # the member changed, removed or joining
OWNER = "owner"  # an Owner who must still be one when the change lands
AUDIT = "audit"


class TeamWriteRefused(Exception):
    """A team change was refused by the condition of one of its items (named by ``item``)."""

    def __init__(self, item: str):
        super().__init__(item)
        self.item = item


def invitation_sk(invitation_id: str) -> str:
    """Return the sort key of an invitation in its account's partition."""
    return INVITE_PREFIX + invitation_id


def invitation_lookup_key(token_hash: str) -> str:
    """Return the Lookups key that finds an invitation by its token's hash."""
    return f"invitation#{token_hash}"


class TeamRepository:
    """Reads and writes invitations and member changes; knows nothing of HTTP or roles' rules."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._accounts = tables.accounts
        self._people = tables.people
        self._lookups = tables.lookups
        self._audit = tables.audit

    # -- reads --------------------------------------------------------------------------------

    def get_invitation(self, account_id: str, invitation_id: str) -> Invitation | None:
        """Return the invitation, read strongly consistently, or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._accounts,
                Key=to_item({"accountId": account_id, "sk": invitation_sk(invitation_id)}),
                ConsistentRead=True,
            ).get("Item")
        return _invitation_from_item(item) if item else None

    def invitation_by_token_hash(self, token_hash: str) -> Invitation | None:
        """Return the invitation whose link's token hashes to ``token_hash``, or None."""
        with translate_unavailable():
            lookup = self._client.get_item(
                TableName=self._lookups,
                Key=to_item({"lookupKey": invitation_lookup_key(token_hash)}),
                ConsistentRead=True,
            ).get("Item")
        if not lookup:
            return None
        values = from_item(lookup)
        return self.get_invitation(values["accountId"], values["invitationId"])

    def invitations_of(self, account_id: str) -> list[Invitation]:
        """Return every invitation of the account, oldest first (one Query on its partition)."""
        items = account_items(self._client, self._accounts, account_id, INVITE_PREFIX)
        return [_invitation_from_item(item) for item in items]

    def people(self, persons: Iterable[Person]) -> dict[Person, PersonRecord]:
        """Return the stored record of each person (one BatchGetItem per 100), by person."""
        keys = [to_item({"personKey": person.key}) for person in set(persons)]
        records = (person_from_item(item) for item in batch_get(self._client, self._people, keys))
        return {record.person: record for record in records}

    # -- invitations --------------------------------------------------------------------------

    def add_invitation(self, invitation: Invitation, token_hash: str, entry: AuditEntry) -> None:
        """Write a new invitation, the lookup of its token and its audit entry, all or nothing.

        Raise TeamWriteRefused(INVITATION) when the invitation id is taken (the same form sent
        twice).
        """
        lookup = {
            "lookupKey": invitation_lookup_key(token_hash),
            "accountId": invitation.account_id,
            "invitationId": invitation.invitation_id,
        }
        self._write(
            (
                INVITATION,
                {
                    "Put": {
                        "TableName": self._accounts,
                        "Item": to_item(_invitation_item(invitation)),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            ),
            (
                LOOKUP,
                {
                    "Put": {
                        "TableName": self._lookups,
                        "Item": to_item(lookup),
                        "ConditionExpression": "attribute_not_exists(lookupKey)",
                    }
                },
            ),
            (AUDIT, audit_put(self._audit, entry)),
        )

    def accept_invitation(
        self, invitation: Invitation, member: Membership, now: datetime, entry: AuditEntry
    ) -> None:
        """Add the member, mark the invitation used and write the entry, all or nothing.

        Single use: the invitation must still be pending and unexpired at ``now``
        (TeamWriteRefused(INVITATION)); the person must not be a member yet (MEMBER).
        """
        self._write(
            (
                INVITATION,
                {
                    "Update": {
                        "TableName": self._accounts,
                        "Key": _invitation_key(invitation),
                        "UpdateExpression": (
                            "SET #status = :accepted, acceptedBy = :by, acceptedAt = :now"
                        ),
                        "ConditionExpression": "#status = :pending AND expiresAt > :now",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_item(
                            {
                                ":accepted": InvitationStatus.ACCEPTED.value,
                                ":pending": InvitationStatus.PENDING.value,
                                ":by": member.person.key,
                                ":now": store_time(now),
                            }
                        ),
                    }
                },
            ),
            (
                MEMBER,
                {
                    "Put": {
                        "TableName": self._accounts,
                        "Item": to_item(member_item(member)),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            ),
            (AUDIT, audit_put(self._audit, entry)),
        )

    def revoke_invitation(self, invitation: Invitation, now: datetime, entry: AuditEntry) -> None:
        """Mark a pending invitation revoked and write the entry (else INVITATION refuses)."""
        self._write(
            (
                INVITATION,
                {
                    "Update": {
                        "TableName": self._accounts,
                        "Key": _invitation_key(invitation),
                        "UpdateExpression": "SET #status = :revoked, revokedAt = :now",
                        "ConditionExpression": "#status = :pending",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_item(
                            {
                                ":revoked": InvitationStatus.REVOKED.value,
                                ":pending": InvitationStatus.PENDING.value,
                                ":now": store_time(now),
                            }
                        ),
                    }
                },
            ),
            (AUDIT, audit_put(self._audit, entry)),
        )

    # -- members ------------------------------------------------------------------------------

    def change_role(
        self,
        member: Membership,
        role: Role,
        entry: AuditEntry,
        owner_kept: Person | None = None,
    ) -> None:
        """Give the member ``role``, if they still have the role read (else MEMBER refuses).

        ``owner_kept``: an Owner who must still be one when this lands (else OWNER refuses),
        so that two Owners demoting each other at once cannot both succeed.
        """
        self._write(
            (MEMBER, self._set_role(member, role)),
            *self._owner_check(member.account_id, owner_kept),
            (AUDIT, audit_put(self._audit, entry)),
        )

    def remove_member(
        self, member: Membership, entry: AuditEntry, owner_kept: Person | None = None
    ) -> None:
        """Delete the member item, if they still have the role read; conditions as change_role."""
        self._write(
            (
                MEMBER,
                {
                    "Delete": {
                        "TableName": self._accounts,
                        "Key": _member_key(member.account_id, member.person),
                        "ConditionExpression": "#role = :before",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": to_item({":before": member.role.value}),
                    }
                },
            ),
            *self._owner_check(member.account_id, owner_kept),
            (AUDIT, audit_put(self._audit, entry)),
        )

    def transfer_ownership(
        self, owner: Membership, new_owner: Membership, entry: AuditEntry
    ) -> None:
        """Make ``new_owner`` an Owner and ``owner`` an Admin, in one transaction.

        MEMBER refuses when the new owner's role changed meanwhile (or they left), OWNER when
        ``owner`` is no longer an Owner.
        """
        self._write(
            (MEMBER, self._set_role(new_owner, Role.OWNER)),
            (OWNER, self._set_role(owner, Role.ADMIN)),
            (AUDIT, audit_put(self._audit, entry)),
        )

    def set_notices(
        self, member: Membership, notices: frozenset[Notice], entry: AuditEntry
    ) -> None:
        """Store what the member asked to be emailed about, with its audit entry.

        The one write of a member's notices (a string set, removed when empty: DynamoDB keeps
        no empty set). MEMBER refuses when they left or their role changed since it was read:
        what a role may choose depends on it.
        """
        update: dict[str, Any] = {
            "TableName": self._accounts,
            "Key": _member_key(member.account_id, member.person),
            "ConditionExpression": "#role = :role",
            "ExpressionAttributeNames": {"#role": "role"},
        }
        if notices:
            update["UpdateExpression"] = "SET notices = :notices"
            update["ExpressionAttributeValues"] = {
                ":role": {"S": member.role.value},
                ":notices": {"SS": sorted(n.value for n in notices)},
            }
        else:
            update["UpdateExpression"] = "REMOVE notices"
            update["ExpressionAttributeValues"] = {":role": {"S": member.role.value}}
        self._write((MEMBER, {"Update": update}), (AUDIT, audit_put(self._audit, entry)))

    # -- helpers ------------------------------------------------------------------------------

    def _set_role(self, member: Membership, role: Role) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._accounts,
                "Key": _member_key(member.account_id, member.person),
                "UpdateExpression": "SET #role = :after",
                "ConditionExpression": "#role = :before",
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": to_item(
                    {":before": member.role.value, ":after": role.value}
                ),
            }
        }

    def _owner_check(
        self, account_id: str, owner: Person | None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        if owner is None:
            return
        yield (
            OWNER,
            {
                "ConditionCheck": {
                    "TableName": self._accounts,
                    "Key": _member_key(account_id, owner),
                    "ConditionExpression": "#role = :owner",
                    "ExpressionAttributeNames": {"#role": "role"},
                    "ExpressionAttributeValues": to_item({":owner": Role.OWNER.value}),
                }
            },
        )

    def _write(self, *named: tuple[str, dict[str, Any]]) -> None:
        try:
            transact_write(self._client, [item for _name, item in named])
        except ConditionFailed as exc:
            refused = next(
                name
                for (name, _item), reason in zip(named, exc.reasons, strict=False)
                if reason == "ConditionalCheckFailed"
            )
            raise TeamWriteRefused(refused) from exc


def _member_key(account_id: str, person: Person) -> dict[str, Any]:
    return to_item({"accountId": account_id, "sk": member_sk(person)})


def _invitation_key(invitation: Invitation) -> dict[str, Any]:
    return to_item(
        {"accountId": invitation.account_id, "sk": invitation_sk(invitation.invitation_id)}
    )


def _invitation_item(invitation: Invitation) -> dict[str, Any]:
    return {
        "accountId": invitation.account_id,
        "sk": invitation_sk(invitation.invitation_id),
        "invitationId": invitation.invitation_id,
        "accountName": invitation.account_name,
        "email": invitation.email,
        "role": invitation.role.value,
        "invitedBy": invitation.invited_by,
        "invitedByLabel": invitation.invited_by_label,
        "createdAt": store_time(invitation.created_at),
        "expiresAt": store_time(invitation.expires_at),
        "status": invitation.stored_status.value,
    }


def _invitation_from_item(item: dict[str, Any]) -> Invitation:
    values = from_item(item)
    accepted_at = values.get("acceptedAt")
    return Invitation(
        account_id=values["accountId"],
        invitation_id=values["invitationId"],
        account_name=values.get("accountName") or values["accountId"],
        email=values["email"],
        role=Role(values["role"]),
        invited_by=values.get("invitedBy"),
        invited_by_label=values.get("invitedByLabel"),
        created_at=parse_store_time(values["createdAt"]),
        expires_at=parse_store_time(values["expiresAt"]),
        stored_status=InvitationStatus(values["status"]),
        accepted_by=values.get("acceptedBy"),
        accepted_at=parse_store_time(accepted_at) if accepted_at else None,
    )
