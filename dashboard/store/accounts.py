"""The accounts repository: the only code that builds DynamoDB requests for accounts and people.

Accounts table (HASH ``accountId``, RANGE ``sk``):

* ``account``: the account itself (its name, when and for whom it was made);
* ``member#{personKey}``: one per member, with the role and what to show of the person and of
  the account (its name, copied so a person's account list is one Query);

``PersonAccountsIndex`` (HASH ``personKey``, RANGE ``accountId``) holds only member items: a
person's accounts are one Query on it, an account's members one Query on the table.

People table (HASH ``personKey``): one item per person who ever signed in. Its creation is what
makes a first sign-in happen once: the person, their account and their membership are written in
one transaction, on the condition that the person item does not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dashboard.domain.accounts import Account, Membership, PersonRecord
from dashboard.domain.actor import Person, Role
from dashboard.domain.notifications import Notice
from dashboard.store.dynamo import (
    ConditionFailed,
    TableNames,
    conditional_write,
    from_item,
    parse_store_time,
    store_time,
    to_item,
    transact_write,
    translate_unavailable,
)
from dashboard.store.schema import MERCHANT_KEYS_INDEX, PERSON_ACCOUNTS_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT_SK = "account"
MEMBER_PREFIX = "member#"


class PersonAlreadyExists(Exception):
    """Raised when a first sign-in finds that another request already made the person."""


def member_sk(person: Person) -> str:
    """Return the sort key of a person's member item in an account."""
    return MEMBER_PREFIX + person.key


def member_key(account_id: str, person: Person) -> dict[str, Any]:
    """Return the DynamoDB key of a person's member item in an account."""
    return to_item({"accountId": account_id, "sk": member_sk(person)})


def membership_from_item(item: dict[str, Any]) -> Membership:
    """Return the membership a member item holds (for reads made outside this repository)."""
    return _membership_from_item(item)


class AccountRepository:
    """Reads and writes accounts, members and people; knows nothing of HTTP or sign-in."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self._client = client
        self._accounts = tables.accounts
        self._people = tables.people
        self._tables = tables

    # -- people -------------------------------------------------------------------------------

    def get_person(self, person: Person) -> PersonRecord | None:
        """Return the stored person, read strongly consistently, or None if never signed in."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._people, Key=to_item({"personKey": person.key}), ConsistentRead=True
            ).get("Item")
        return person_from_item(item) if item else None

    def record_sign_in(self, record: PersonRecord, membership: Membership | None) -> None:
        """Store what the provider said of the person now, and when they signed in."""
        with translate_unavailable():
            self._client.update_item(
                TableName=self._people,
                Key=to_item({"personKey": record.person.key}),
                UpdateExpression="SET email = :email, #name = :name, lastSignInAt = :now",
                ExpressionAttributeNames={"#name": "name"},
                ExpressionAttributeValues=to_item({":now": store_time(record.last_sign_in_at)})
                | {":email": _nullable(record.email), ":name": _nullable(record.name)},
            )
        if membership is not None:
            member_key = {"accountId": membership.account_id, "sk": member_sk(record.person)}
            # The member item keeps the last sign-in for the account's member list; a member
            # removed meanwhile stays removed (the condition), so this never re-adds anyone.
            conditional_write(
                lambda: self._client.update_item(
                    TableName=self._accounts,
                    Key=to_item(member_key),
                    UpdateExpression="SET email = :email, #name = :name, lastSignInAt = :now",
                    ConditionExpression="attribute_exists(sk)",
                    ExpressionAttributeNames={"#name": "name"},
                    ExpressionAttributeValues=to_item({":now": store_time(record.last_sign_in_at)})
                    | {":email": _nullable(record.email), ":name": _nullable(record.name)},
                )
            )

    def set_last_account(self, person: Person, account_id: str) -> None:
        """Remember the account the person works in, to open it at their next sign-in."""
        with translate_unavailable():
            self._client.update_item(
                TableName=self._people,
                Key=to_item({"personKey": person.key}),
                UpdateExpression="SET lastAccountId = :account",
                ConditionExpression="attribute_exists(personKey)",
                ExpressionAttributeValues=to_item({":account": account_id}),
            )

    # -- accounts and members -----------------------------------------------------------------

    def create_person_with_account(
        self, record: PersonRecord, account: Account, owner: Membership
    ) -> None:
        """Write a new person, their first account and their Owner membership, all or nothing.

        Raise PersonAlreadyExists when the person item exists already: another sign-in of the
        same person got there first, and that one's account is the person's. The account item is
        written only if absent, so adopting a legacy account that a migration made meanwhile
        keeps its item as it is.
        """
        try:
            transact_write(
                self._client,
                [
                    {
                        "Put": {
                            "TableName": self._people,
                            "Item": to_item(_person_item(record)),
                            "ConditionExpression": "attribute_not_exists(personKey)",
                        }
                    },
                    *self._account_and_member_puts(account, owner),
                ],
            )
        except ConditionFailed as exc:
            if exc.reasons[0] == "ConditionalCheckFailed":
                raise PersonAlreadyExists(record.person.key) from exc
            raise

    def add_account_if_absent(
        self, record: PersonRecord, account: Account, owner: Membership
    ) -> bool:
        """Write the person, the account and its Owner, each only where it is missing.

        Return True when anything was written (the migration's count); running it again writes
        nothing. Each item is a conditional Put of its own, so a run stopped half-way resumes.
        """
        # The person last: a person item means "this person has an account", so a run stopped
        # before it is finished by the next run or by the person's first sign-in.
        puts = [
            (self._accounts, _account_item(account), "attribute_not_exists(sk)"),
            (self._accounts, member_item(owner), "attribute_not_exists(sk)"),
            (self._people, _person_item(record), "attribute_not_exists(personKey)"),
        ]
        wrote = False
        for table, item, condition in puts:
            wrote |= self._put_if_absent(table, item, condition)
        return wrote

    def _put_if_absent(self, table: str, item: dict[str, Any], condition: str) -> bool:
        return conditional_write(
            lambda: self._client.put_item(
                TableName=table, Item=to_item(item), ConditionExpression=condition
            )
        )

    def account_exists(self, account_id: str) -> bool:
        """Return True when the account item exists (strongly consistent)."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._accounts,
                Key=to_item({"accountId": account_id, "sk": ACCOUNT_SK}),
                ConsistentRead=True,
                ProjectionExpression="accountId",
            ).get("Item")
        return item is not None

    def copied_to_members(self, account_id: str) -> tuple[str | None, str | None]:
        """Return the account's name and time zone as they are now (strongly consistent).

        What each member item keeps a copy of; (None, None) when there is no such account.
        """
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._accounts,
                Key=to_item({"accountId": account_id, "sk": ACCOUNT_SK}),
                ConsistentRead=True,
                ProjectionExpression="#name, #zone",
                ExpressionAttributeNames={"#name": "name", "#zone": "timeZone"},  # reserved
            ).get("Item")
        values = from_item(item) if item else {}
        return values.get("name"), values.get("timeZone")

    def add_member(self, membership: Membership) -> bool:
        """Add a person to an account; return False if they are a member already."""
        return conditional_write(
            lambda: self._client.put_item(
                TableName=self._accounts,
                Item=to_item(member_item(membership)),
                ConditionExpression="attribute_not_exists(sk)",
            )
        )

    def get_membership(self, account_id: str, person: Person) -> Membership | None:
        """Return the person's membership of the account, strongly consistent, or None."""
        with translate_unavailable():
            item = self._client.get_item(
                TableName=self._accounts,
                Key=to_item({"accountId": account_id, "sk": member_sk(person)}),
                ConsistentRead=True,
            ).get("Item")
        return _membership_from_item(item) if item else None

    def memberships_of(self, person: Person) -> list[Membership]:
        """Return every account the person is a member of, by account id (one Query)."""
        request: dict[str, Any] = {
            "TableName": self._accounts,
            "IndexName": PERSON_ACCOUNTS_INDEX,
            "KeyConditionExpression": "personKey = :person",
            "ExpressionAttributeValues": to_item({":person": person.key}),
        }
        return [_membership_from_item(item) for item in self._query_all(request)]

    def members_of(self, account_id: str) -> list[Membership]:
        """Return every member of the account (one Query on its partition)."""
        items = account_items(self._client, self._accounts, account_id, MEMBER_PREFIX)
        return [_membership_from_item(item) for item in items]

    # -- data made before accounts ------------------------------------------------------------

    def has_legacy_data(self, user_id: str) -> bool:
        """Return True when anything is stored under ``user_id`` as its owner key.

        Payments, orders (and what an order's partition holds) and API keys: each one Query
        with ``Limit=1`` on its key, so an account made before people and accounts were told
        apart is found however it was used, even without a payment in the merchant registry.
        """
        queries: list[dict[str, Any]] = [
            {"TableName": self._tables.payments},
            {"TableName": self._tables.orders},
            {"TableName": self._tables.api_keys, "IndexName": MERCHANT_KEYS_INDEX},
        ]
        for query in queries:
            with translate_unavailable():
                response = self._client.query(
                    **query,
                    KeyConditionExpression="userId = :user",
                    ExpressionAttributeValues=to_item({":user": user_id}),
                    Limit=1,
                    ProjectionExpression="userId",  # whether one exists: nothing else is read
                )
            if response.get("Items"):
                return True
        return False

    # -- helpers ------------------------------------------------------------------------------

    def _account_and_member_puts(self, account: Account, owner: Membership) -> list[dict[str, Any]]:
        # Updates that only fill what is missing: adopting a legacy account that the migration
        # made meanwhile keeps the items it wrote, instead of failing or overwriting them.
        return [
            _fill_missing(self._accounts, _account_item(account)),
            _fill_missing(self._accounts, member_item(owner)),
        ]

    def _query_all(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return query_all(self._client, request)


def query_all(client: DynamoDBClient, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every item a Query answers, following its pages."""
    while True:
        with translate_unavailable():
            response = client.query(**request)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def account_items(
    client: DynamoDBClient, table: str, account_id: str, sk_prefix: str
) -> Iterator[dict[str, Any]]:
    """Yield the account partition's items whose sort key starts with ``sk_prefix`` (one Query,
    strongly consistent: members and invitations are read right after they change)."""
    return query_all(
        client,
        {
            "TableName": table,
            "KeyConditionExpression": "accountId = :account AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":account": account_id, ":prefix": sk_prefix}),
            "ConsistentRead": True,
        },
    )


def _fill_missing(table: str, item: dict[str, Any]) -> dict[str, Any]:
    """Return an Update that creates ``item``, or sets only its attributes that are missing."""
    key = {name: item[name] for name in ("accountId", "sk")}
    values = {name: value for name, value in item.items() if name not in key and value is not None}
    names = {f"#a{i}": name for i, name in enumerate(values)}
    assignments = (f"{alias} = if_not_exists({alias}, :v{i})" for i, alias in enumerate(names))
    return {
        "Update": {
            "TableName": table,
            "Key": to_item(key),
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(
                {f":v{i}": value for i, value in enumerate(values.values())}
            ),
        }
    }


def _nullable(value: str | None) -> dict[str, Any]:
    return {"S": value} if value is not None else {"NULL": True}


def _person_item(record: PersonRecord) -> dict[str, Any]:
    return {
        "personKey": record.person.key,
        "issuer": record.person.issuer,
        "sub": record.person.sub,
        "email": record.email,
        "name": record.name,
        "lastAccountId": record.last_account_id,
        "firstSignInAt": store_time(record.first_sign_in_at),
        "lastSignInAt": store_time(record.last_sign_in_at),
    }


def person_from_item(item: dict[str, Any]) -> PersonRecord:
    """Return the person a People item holds."""
    values = from_item(item)
    return PersonRecord(
        person=Person(values["issuer"], values["sub"]),
        email=values.get("email"),
        name=values.get("name"),
        last_account_id=values.get("lastAccountId"),
        first_sign_in_at=parse_store_time(values["firstSignInAt"]),
        last_sign_in_at=parse_store_time(values["lastSignInAt"]),
    )


def _account_item(account: Account) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "sk": ACCOUNT_SK,
        "name": account.name,
        "timeZone": account.time_zone,
        "createdAt": store_time(account.created_at),
    }


def member_item(membership: Membership) -> dict[str, Any]:
    """Return the Accounts item of a membership (plain values)."""
    return {
        "accountId": membership.account_id,
        "sk": member_sk(membership.person),
        "personKey": membership.person.key,
        "accountName": membership.account_name,
        "timeZone": membership.time_zone,
        "role": membership.role.value,
        "email": membership.email,
        "name": membership.name,
        "joinedAt": _optional_store_time(membership.joined_at),
        "lastSignInAt": _optional_store_time(membership.last_sign_in_at),
    }


def _membership_from_item(item: dict[str, Any]) -> Membership:
    values = from_item(item)
    return Membership(
        account_id=values["accountId"],
        account_name=values.get("accountName") or values["accountId"],
        time_zone=values.get("timeZone"),
        person=Person.from_key(values["personKey"]),
        role=Role(values["role"]),
        email=values.get("email"),
        name=values.get("name"),
        joined_at=_optional_time(values.get("joinedAt")),
        last_sign_in_at=_optional_time(values.get("lastSignInAt")),
        notices=_notices(values.get("notices")),
    )


def _notices(stored: object) -> frozenset[Notice]:
    # A string set (absent when empty: DynamoDB stores no empty set); a value a later
    # version adds is skipped rather than failing the read.
    known = {n.value for n in Notice}
    values = stored if isinstance(stored, (set, list, tuple)) else ()
    return frozenset(Notice(v) for v in values if v in known)


def _optional_store_time(value: datetime | None) -> str | None:
    return store_time(value) if value is not None else None


def _optional_time(value: str | None) -> datetime | None:
    return parse_store_time(value) if value is not None else None
