"""API keys as the service sees them: created once, listed, revoked, and checked on every request."""

from __future__ import annotations

import pytest

from dashboard.domain.actor import Actor
from dashboard.domain.api_keys import ApiKey, ApiKeyPrincipal
from dashboard.services.api_keys import (
    MAX_ACTIVE_KEYS,
    ApiKeyAlreadyCreated,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyService,
    InvalidKeyName,
    new_key_id,
)
from dashboard.store.database import Store
from dashboard.store.dynamo import StoreUnavailable
from tests.conftest import TEST_ISSUER, FakeClock, actor_for

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def api_keys(store: Store, clock: FakeClock) -> ApiKeyService:
    """The API key service over moto, on the test clock."""
    return ApiKeyService(store.api_keys, clock=clock)


@pytest.fixture
def dynamodb_calls(store: Store) -> list[str]:
    """The names of the DynamoDB operations issued from now on (GetItem, UpdateItem, ...)."""
    calls: list[str] = []
    store.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    return calls


def test_a_new_key_is_shown_once_and_acts_for_its_merchant(api_keys, clock):
    key, full_key = api_keys.create_key(actor_for(ALICE), "  Web shop ")

    assert full_key.startswith(f"pdk_{key.key_id}_")
    assert len(key.key_id) == 12
    assert key.name == "Web shop"
    assert key.user_id == ALICE
    assert key.created_at == clock.now
    assert key.is_active
    assert key.last_used_at is None
    assert api_keys.authenticate(full_key) == ApiKeyPrincipal(ALICE, key.key_id, name=key.name)


def test_a_key_remembers_the_person_who_created_it(api_keys):
    key, _ = api_keys.create_key(actor_for(ALICE), "Web shop")

    assert key.created_by == f"{TEST_ISSUER}#{ALICE}"
    assert api_keys.list_keys(ALICE) == [key]


def test_a_key_made_with_another_key_or_by_a_command_says_so(api_keys):
    made_by_key, _ = api_keys.create_key(Actor.for_api_key(ALICE, "AbCdEf123456"), "Robot")
    made_by_command, _ = api_keys.create_key(Actor.system(ALICE), "Import")

    assert made_by_key.created_by == "AbCdEf123456"
    assert made_by_command.created_by is None
    listed = {key.name: key.created_by for key in api_keys.list_keys(ALICE)}
    assert listed == {"Robot": "AbCdEf123456", "Import": None}


def test_a_key_from_before_keys_named_their_creator_reads_as_made_by_nobody_known(
    api_keys, store, clock
):
    older = ApiKey(key_id=new_key_id(), user_id=ALICE, name="Old shop", created_at=clock.now)
    store.api_keys.add(older, "0" * 64)  # written as before: no createdBy attribute

    assert api_keys.list_keys(ALICE) == [older]  # its created_by is None
    assert api_keys.revoke_key(actor_for(ALICE), older.key_id).created_by is None


def test_two_keys_never_share_an_id_or_a_secret(api_keys):
    (first, first_key), (second, second_key) = (
        api_keys.create_key(actor_for(ALICE), "Shop"),
        api_keys.create_key(actor_for(ALICE), "Shop"),
    )

    assert first.key_id != second.key_id
    assert first_key.split("_", 2)[2] != second_key.split("_", 2)[2]


def test_a_key_made_with_a_given_id_cannot_be_made_twice(api_keys):
    key_id = new_key_id()  # minted when the create form was shown
    key, full_key = api_keys.create_key(actor_for(ALICE), "Web shop", key_id)

    with pytest.raises(ApiKeyAlreadyCreated):
        api_keys.create_key(actor_for(ALICE), "Web shop", key_id)  # the same form sent again

    assert key.key_id == key_id
    assert full_key.startswith(f"pdk_{key_id}_")
    assert [k.key_id for k in api_keys.list_keys(ALICE)] == [key_id]


def test_a_resubmit_is_recognised_even_before_the_listing_shows_the_key(api_keys, monkeypatch):
    key_id = new_key_id()
    api_keys.create_key(actor_for(ALICE), "Web shop", key_id)
    # The merchant's listing reads an index, which may lag a write made a moment ago.
    monkeypatch.setattr(api_keys, "list_keys", lambda _user_id: [])

    with pytest.raises(ApiKeyAlreadyCreated):
        api_keys.create_key(actor_for(ALICE), "Web shop", key_id)


def test_a_given_id_another_merchant_holds_is_replaced_by_a_fresh_one(api_keys):
    bobs_key, _ = api_keys.create_key(actor_for(BOB), "Bob's shop")

    alices_key, alices_full_key = api_keys.create_key(actor_for(ALICE), "Shop", bobs_key.key_id)

    assert alices_key.key_id != bobs_key.key_id
    assert api_keys.authenticate(alices_full_key).user_id == ALICE
    assert [k.name for k in api_keys.list_keys(BOB)] == ["Bob's shop"]


def test_a_resubmit_at_the_key_limit_says_the_key_exists(api_keys):
    for n in range(MAX_ACTIVE_KEYS - 1):
        api_keys.create_key(actor_for(ALICE), f"Key {n}")
    last = new_key_id()
    api_keys.create_key(actor_for(ALICE), "Last", last)

    with pytest.raises(ApiKeyAlreadyCreated):
        api_keys.create_key(actor_for(ALICE), "Last", last)


def test_the_secret_is_stored_only_as_a_hash(api_keys, store):
    key, full_key = api_keys.create_key(actor_for(ALICE), "Invoicing")
    secret = full_key.removeprefix(f"pdk_{key.key_id}_")

    raw = store.client.get_item(
        TableName=store.tables.api_keys, Key={"keyId": {"S": key.key_id}}, ConsistentRead=True
    )["Item"]

    stored = repr(raw)
    assert secret not in stored
    assert full_key not in stored
    assert raw["secretHash"]["S"] != secret


def test_keys_are_listed_newest_first_and_only_to_their_merchant(api_keys, clock):
    api_keys.create_key(actor_for(ALICE), "Shop")
    clock.advance(minutes=5)
    api_keys.create_key(actor_for(BOB), "Bob's shop")
    clock.advance(minutes=5)
    api_keys.create_key(actor_for(ALICE), "Invoicing")

    assert [key.name for key in api_keys.list_keys(ALICE)] == ["Invoicing", "Shop"]
    assert [key.name for key in api_keys.list_keys(BOB)] == ["Bob's shop"]
    assert api_keys.list_keys("carol@example.com") == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        ("x" * 61, "at most 60"),
        ("Shop\x00", "letters, digits"),
    ],
)
def test_a_key_needs_a_sensible_name(api_keys, name, message):
    with pytest.raises(InvalidKeyName, match=message):
        api_keys.create_key(actor_for(ALICE), name)

    assert api_keys.list_keys(ALICE) == []


def test_a_name_of_sixty_characters_is_fine(api_keys):
    key, _ = api_keys.create_key(actor_for(ALICE), "x" * 60)

    assert key.name == "x" * 60


def test_a_merchant_has_at_most_twenty_active_keys(api_keys):
    keys = [api_keys.create_key(actor_for(ALICE), f"Key {n}")[0] for n in range(MAX_ACTIVE_KEYS)]

    with pytest.raises(ApiKeyLimitReached):
        api_keys.create_key(actor_for(ALICE), "One too many")
    api_keys.create_key(actor_for(BOB), "Bob's own limit is separate")

    api_keys.revoke_key(actor_for(ALICE), keys[0].key_id)
    api_keys.create_key(actor_for(ALICE), "Replacement")
    assert sum(key.is_active for key in api_keys.list_keys(ALICE)) == MAX_ACTIVE_KEYS


def test_a_wrong_secret_is_refused(api_keys):
    key, full_key = api_keys.create_key(actor_for(ALICE), "Shop")
    other_secret = api_keys.create_key(actor_for(ALICE), "Other")[1].split("_", 2)[2]

    assert api_keys.authenticate(f"pdk_{key.key_id}_{other_secret}") is None
    assert api_keys.authenticate(full_key[:-1] + ("A" if full_key[-1] != "A" else "B")) is None


def test_a_key_with_an_unknown_id_is_refused(api_keys):
    _, full_key = api_keys.create_key(actor_for(ALICE), "Shop")

    assert api_keys.authenticate("pdk_AAAAAAAAAAAA_" + full_key.split("_", 2)[2]) is None


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "pdk_",
        "Bearer pdk_",
        "pdk_" + "A" * 12 + "_" + "s" * 42,  # secret one character short
        "pdk_" + "A" * 12 + "_" + "s" * 44,  # one character long
        "pdk_" + "A" * 11 + "!_" + "s" * 43,  # a key id character outside the alphabet
        "xyz_" + "A" * 12 + "_" + "s" * 43,  # another product's prefix
        "pdk_" + "A" * 12 + "_" + "s" * 42 + " ",  # whitespace is not trimmed for you
        "pdk_" + "A" * 12 + "_" + "s" * 10_000,  # overlong
        "pdk_" + "A" * 12 + "_" + "é" * 43,
    ],
)
def test_a_malformed_key_is_refused_without_asking_dynamodb(api_keys, dynamodb_calls, presented):
    assert api_keys.authenticate(presented) is None
    assert dynamodb_calls == []


def test_a_revoked_key_is_refused_at_once(api_keys, clock):
    key, full_key = api_keys.create_key(actor_for(ALICE), "Shop")
    clock.advance(hours=1)

    revoked = api_keys.revoke_key(actor_for(ALICE), key.key_id)

    assert revoked.revoked_at == clock.now
    assert not revoked.is_active
    assert api_keys.authenticate(full_key) is None
    assert [k.is_active for k in api_keys.list_keys(ALICE)] == [False]


def test_revoking_twice_is_harmless_and_keeps_the_first_time(api_keys, clock):
    key, _ = api_keys.create_key(actor_for(ALICE), "Shop")
    first = api_keys.revoke_key(actor_for(ALICE), key.key_id)
    clock.advance(minutes=10)

    second = api_keys.revoke_key(actor_for(ALICE), key.key_id)

    assert second.revoked_at == first.revoked_at


def test_a_merchant_cannot_revoke_another_merchants_key(api_keys):
    key, full_key = api_keys.create_key(actor_for(BOB), "Bob's shop")

    with pytest.raises(ApiKeyNotFound):
        api_keys.revoke_key(actor_for(ALICE), key.key_id)

    assert api_keys.authenticate(full_key) == ApiKeyPrincipal(BOB, key.key_id, name=key.name)


@pytest.mark.parametrize("key_id", ["AAAAAAAAAAAA", "not-a-key-id", "x" * 5000])
def test_revoking_an_unknown_key_is_not_found(api_keys, key_id):
    with pytest.raises(ApiKeyNotFound):
        api_keys.revoke_key(actor_for(ALICE), key_id)


def test_last_use_is_recorded_at_most_once_a_minute(api_keys, clock, dynamodb_calls):
    _, full_key = api_keys.create_key(actor_for(ALICE), "Shop")
    clock.advance(minutes=3)
    first_use = clock.now

    api_keys.authenticate(full_key)
    assert api_keys.list_keys(ALICE)[0].last_used_at == first_use

    dynamodb_calls.clear()
    clock.advance(seconds=30)
    assert api_keys.authenticate(full_key) is not None
    assert dynamodb_calls == ["GetItem"]  # read only: the use a moment ago is close enough
    assert api_keys.list_keys(ALICE)[0].last_used_at == first_use

    clock.advance(seconds=31)
    api_keys.authenticate(full_key)
    assert api_keys.list_keys(ALICE)[0].last_used_at == clock.now


def test_a_use_recorded_meanwhile_by_another_request_is_not_an_error(api_keys, store, clock):
    key, _ = api_keys.create_key(actor_for(ALICE), "Shop")
    cutoff = clock.now
    clock.advance(seconds=5)

    # Two requests read the key at once; the first records the use, the second's write is refused.
    assert store.api_keys.record_use(key.key_id, clock.now, unless_used_since=cutoff)
    assert not store.api_keys.record_use(key.key_id, clock.now, unless_used_since=cutoff)


def test_a_key_is_accepted_even_when_its_last_use_cannot_be_written(api_keys, store, monkeypatch):
    key, full_key = api_keys.create_key(actor_for(ALICE), "Shop")

    def throttled(*_args, **_kwargs):
        raise StoreUnavailable("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store.api_keys, "record_use", throttled)

    assert api_keys.authenticate(full_key) == ApiKeyPrincipal(ALICE, key.key_id, name=key.name)
