"""The business profile's repository: what payers are told of an account, and its logo.

Accounts table (beside ``account``, ``member#…`` and ``invite#…``, see ``store/accounts.py``):

* the ``account`` item holds the business name (``name``, the account's name everywhere),
  ``supportEmail``, ``logoDigest`` and ``logoFormat``, the time zone (``timeZone``) and
  ``settingsVersion``;
* ``logo``: the logo's bytes (at most 100 KB, far below the 400 KB item limit), kept apart so
  that reading the account item for a payer page never reads the image.

Lookups table: ``logo#{digest}`` names the account whose logo it is, so ``/logos/<digest>.png``
finds the image with two GetItems, without the account id in the URL.

A change is one ``TransactWriteItems``: the account item (conditional on the version the change
was decided on), the logo and its lookup (a replaced logo's lookup deleted: its URL stops
working), the member items' copy of the name and time zone (each conditional on the member
still being one, so a change never brings a removed member back) and the audit entry. Members
keep a copy because every request reads its member item anyway: the header's name and the zone
times are shown in come with it, at no extra read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dashboard.domain.audit import AuditEntry
from dashboard.domain.business import BusinessProfile, Logo, LogoRef
from dashboard.domain.timezones import DEFAULT_ZONE
from dashboard.store.accounts import ACCOUNT_SK
from dashboard.store.audit import audit_put
from dashboard.store.dynamo import (
    TableNames,
    conditional_write,
    from_item,
    to_item,
    transact_write,
    translate_unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOGO_SK = "logo"
# A transaction holds at most 100 items: the account, the logo, two lookups and the audit
# entry leave room for this many member items; the members past it are updated just after.
MEMBERS_PER_TRANSACTION = 95


def logo_lookup_key(digest: str) -> str:
    """Return the Lookups key that finds a logo by the digest in its URL."""
    return f"logo#{digest}"


@dataclass(frozen=True)
class StoredProfile:
    """The profile as stored, with the version a change must find unchanged."""

    profile: BusinessProfile
    version: int


class BusinessRepository:
    """Reads and writes business profiles and logos; knows nothing of HTTP or images."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._accounts = tables.accounts
        self._lookups = tables.lookups
        self._audit = tables.audit

    def get_profile(self, account_id: str) -> StoredProfile | None:
        """Return the account's profile (one GetItem, no image), or None for no account."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._accounts,
                Key=to_item({"accountId": account_id, "sk": ACCOUNT_SK}),
                ProjectionExpression="accountId, #name, supportEmail, logoDigest, logoFormat, "
                "#zone, settingsVersion, noReceipts",
                ExpressionAttributeNames={"#name": "name", "#zone": "timeZone"},
                ConsistentRead=True,
            ).get("Item")
        if not item:
            return None
        values = from_item(item)
        logo = (
            LogoRef(values["logoDigest"], values["logoFormat"])
            if values.get("logoDigest")
            else None
        )
        profile = BusinessProfile(
            name=values.get("name") or account_id,
            support_email=values.get("supportEmail"),
            logo=logo,
            time_zone=values.get("timeZone") or DEFAULT_ZONE,
            # Stored as the exception, so every account from before the setting sends them.
            send_receipts=not values.get("noReceipts"),
        )
        return StoredProfile(profile, int(values.get("settingsVersion", 0)))

    def logo_by_digest(self, digest: str) -> Logo | None:
        """Return the logo served under ``digest``, or None (no such logo, or replaced)."""
        with translate_unavailable():
            lookup = self._client.get_item(
                TableName=self._lookups, Key=to_item({"lookupKey": logo_lookup_key(digest)})
            ).get("Item")
            if not lookup:
                return None
            account_id = from_item(lookup)["accountId"]
            item = self._client.get_item(
                TableName=self._accounts, Key=to_item({"accountId": account_id, "sk": LOGO_SK})
            ).get("Item")
        if not item:
            return None
        values = from_item(item)
        if values.get("digest") != digest:
            return None  # replaced meanwhile: the old URL serves nothing
        return Logo(bytes(values["content"].value), values["format"])

    def save(
        self,
        account_id: str,
        stored: StoredProfile,
        profile: BusinessProfile,
        new_logo: Logo | None,
        members: list[str],
        entry: AuditEntry,
    ) -> None:
        """Write the profile, its logo, the members' copy of name and zone and the entry, at once.

        ``new_logo`` is the image of ``profile.logo`` when it is new (None: unchanged or
        removed); ``members`` the member items' sort keys to give the copy. Raise
        ConditionFailed when the profile changed since ``stored`` was read, or a member left.
        """
        before = stored.profile
        items = [self._account_update(account_id, stored.version, profile)]
        old, new = before.logo, profile.logo
        if new_logo is not None and new is not None:
            items += self._logo_puts(account_id, new, new_logo)
        elif new is None and old is not None:
            items.append(self._delete(self._accounts, {"accountId": account_id, "sk": LOGO_SK}))
        if old is not None and (new is None or new.digest != old.digest):
            items.append(self._delete(self._lookups, {"lookupKey": logo_lookup_key(old.digest)}))
        copy_changed = (profile.name, profile.time_zone) != (before.name, before.time_zone)
        to_copy = members if copy_changed else []
        first, rest = to_copy[:MEMBERS_PER_TRANSACTION], to_copy[MEMBERS_PER_TRANSACTION:]
        items += [self._member_update(account_id, sk, profile) for sk in first]
        items.append(audit_put(self._audit, entry))
        transact_write(self._client, items)
        for sk in rest:  # a member who left meanwhile is skipped by the condition
            self._copy_to_member(account_id, sk, profile)

    def _copy_to_member(self, account_id: str, sk: str, profile: BusinessProfile) -> None:
        update = self._member_update(account_id, sk, profile)["Update"]
        conditional_write(lambda: self._client.update_item(**update))

    def _account_update(
        self, account_id: str, version: int, profile: BusinessProfile
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            ":name": profile.name,
            ":zone": profile.time_zone,
            ":next": version + 1,
            ":version": version,
        }
        sets = ["#name = :name", "#zone = :zone", "settingsVersion = :next"]
        removes = []
        optional = {
            "supportEmail": profile.support_email,
            "logoDigest": profile.logo.digest if profile.logo else None,
            "logoFormat": profile.logo.format if profile.logo else None,
            "noReceipts": None if profile.send_receipts else True,
        }
        for attribute, value in optional.items():
            if value is None:
                removes.append(attribute)
            else:
                sets.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "Update": {
                "TableName": self._accounts,
                "Key": to_item({"accountId": account_id, "sk": ACCOUNT_SK}),
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(sk) AND "
                "(attribute_not_exists(settingsVersion) OR settingsVersion = :version)",
                # Both are DynamoDB reserved words.
                "ExpressionAttributeNames": {"#name": "name", "#zone": "timeZone"},
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _logo_puts(self, account_id: str, ref: LogoRef, logo: Logo) -> list[dict[str, Any]]:
        logo_item = {
            "accountId": account_id,
            "sk": LOGO_SK,
            "digest": ref.digest,
            "format": logo.format,
            "content": logo.content,
        }
        lookup = {"lookupKey": logo_lookup_key(ref.digest), "accountId": account_id}
        return [
            {"Put": {"TableName": self._accounts, "Item": to_item(logo_item)}},
            {"Put": {"TableName": self._lookups, "Item": to_item(lookup)}},
        ]

    def _member_update(self, account_id: str, sk: str, profile: BusinessProfile) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._accounts,
                "Key": to_item({"accountId": account_id, "sk": sk}),
                "UpdateExpression": "SET accountName = :name, #zone = :zone",
                "ConditionExpression": "attribute_exists(sk)",
                "ExpressionAttributeNames": {"#zone": "timeZone"},  # a reserved word
                "ExpressionAttributeValues": to_item(
                    {":name": profile.name, ":zone": profile.time_zone}
                ),
            }
        }

    @staticmethod
    def _delete(table: str, key: dict[str, str]) -> dict[str, Any]:
        return {"Delete": {"TableName": table, "Key": to_item(key)}}
