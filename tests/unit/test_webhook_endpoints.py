"""Webhook endpoints: what may be saved, secrets sealed at rest, and the service's use cases."""

from __future__ import annotations

import base64
import os

import pytest

from dashboard.config import ConfigError, load_settings
from dashboard.core.errors import InvalidInput
from dashboard.domain.actor import Actor, Role
from dashboard.domain.api_keys import KeyScope
from dashboard.domain.audit import AuditAction
from dashboard.domain.events import EventType
from dashboard.domain.permissions import Permission, role_can, scope_can
from dashboard.domain.webhook_endpoints import (
    EndpointStatus,
    clean_description,
    clean_event_types,
    clean_url,
)
from dashboard.services.webhook_endpoints import (
    MAX_ENDPOINTS,
    WebhookEndpointExists,
    WebhookEndpointLimitReached,
    WebhookEndpointNotFound,
    WebhookEndpointService,
    clean_endpoint_input,
)
from dashboard.store.database import Store
from dashboard.store.secret_box import DEVELOPMENT_KEY, SecretBox, SecretUnreadable, decode_key
from dashboard.store.webhook_endpoints import EndpointChanged, endpoint_sk
from tests.conftest import FakeClock
from tests.unit.audit_support import ACCOUNT, ALICE, SHOP_KEY, logged

URL = "https://shop.example/webhooks"
OTHER_ACCOUNT = "acct_other"


@pytest.fixture
def box() -> SecretBox:
    """A secret box under a fresh random key."""
    return SecretBox(os.urandom(32))


@pytest.fixture
def endpoints(store: Store, box: SecretBox, clock: FakeClock) -> WebhookEndpointService:
    """The webhook endpoint service over moto, on the test clock, as in production."""
    return WebhookEndpointService(store.webhook_endpoints, box, production=True, clock=clock)


# --- what may be saved ---


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/webhooks", "  https://shop.example:8443/hooks?x=1 ", "https://1.2.3.4/"],
)
def test_an_https_url_is_accepted(url):
    assert clean_url(url, production=True) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        None,
        "http://shop.example/webhooks",
        "ftp://shop.example/",
        "shop.example/webhooks",
        "https://",
        "https://user:pw@shop.example/",
        "https://shop.example/a b",
        "https://shop.example/\x00",
        "https://shop.example:port/",
        "https://shop.example/#part",
        "https://shop.example/" + "a" * 2048,
    ],
)
def test_a_url_that_is_not_https_is_refused_with_a_message_for_the_field(url):
    with pytest.raises(InvalidInput) as refused:
        clean_url(url, production=True)
    assert set(refused.value.errors) == {"url"}


@pytest.mark.parametrize("url", ["http://localhost:8000/hooks", "http://127.0.0.1/hooks"])
def test_plain_http_to_the_developers_own_machine_is_accepted_only_outside_production(url):
    assert clean_url(url, production=False) == url
    with pytest.raises(InvalidInput):
        clean_url(url, production=True)


def test_http_to_another_host_is_refused_even_in_development():
    with pytest.raises(InvalidInput):
        clean_url("http://shop.example/hooks", production=False)


def test_all_event_types_can_be_asked_for_at_once():
    assert clean_event_types("all") == frozenset(EventType)
    assert clean_event_types(["all"]) == frozenset(EventType)


def test_event_types_are_a_non_empty_list_of_known_types():
    assert clean_event_types(["payment.completed", "refund.failed"]) == {
        EventType.PAYMENT_COMPLETED,
        EventType.REFUND_FAILED,
    }
    for wrong in ([], "payment.completed", ["payment.completed", "payment.teleported"], 3):
        with pytest.raises(InvalidInput) as refused:
            clean_event_types(wrong)
        assert set(refused.value.errors) == {"event_types"}


def test_an_unknown_event_type_is_named_with_the_known_ones_in_order():
    with pytest.raises(InvalidInput) as refused:
        clean_event_types(["payment.teleported"])
    assert refused.value.errors["event_types"] == (
        "Unknown event type 'payment.teleported': use one of "
        + ", ".join(t.value for t in EventType)
        + "."
    )


def test_a_description_is_optional_short_and_printable():
    assert clean_description(None) == ""
    assert clean_description("  Shop backend ") == "Shop backend"
    assert clean_description("x" * 140) == "x" * 140
    for wrong in ("x" * 141, "line\nbreak", "bell\x07", 5):
        with pytest.raises(InvalidInput) as refused:
            clean_description(wrong)
        assert set(refused.value.errors) == {"description"}


def test_every_bad_field_is_named_at_once():
    with pytest.raises(InvalidInput) as refused:
        clean_endpoint_input("http://shop.example", [], "x" * 200, production=True)
    assert set(refused.value.errors) == {"url", "event_types", "description"}


# --- secrets sealed at rest ---


def test_a_sealed_secret_opens_with_its_key_for_its_endpoint(box):
    sealed = box.seal("whsec_abc", "endpoint-1")
    assert b"whsec_abc" not in sealed
    assert box.open(sealed, "endpoint-1") == "whsec_abc"
    # A fresh nonce each time: the same secret never seals to the same bytes.
    assert box.seal("whsec_abc", "endpoint-1") != sealed


def test_a_sealed_secret_does_not_open_with_another_key(box):
    sealed = box.seal("whsec_abc", "endpoint-1")
    with pytest.raises(SecretUnreadable):
        SecretBox(os.urandom(32)).open(sealed, "endpoint-1")


def test_a_sealed_secret_does_not_open_for_another_endpoint(box):
    sealed = box.seal("whsec_abc", "endpoint-1")
    with pytest.raises(SecretUnreadable):
        box.open(sealed, "endpoint-2")


@pytest.mark.parametrize("position", [0, 12, -1])
def test_a_tampered_secret_does_not_open(box, position):
    sealed = bytearray(box.seal("whsec_abc", "endpoint-1"))
    sealed[position] ^= 0x01
    with pytest.raises(SecretUnreadable):
        box.open(bytes(sealed), "endpoint-1")


def test_a_truncated_secret_does_not_open(box):
    with pytest.raises(SecretUnreadable):
        box.open(box.seal("whsec_abc", "endpoint-1")[:10], "endpoint-1")


def test_production_refuses_to_start_without_a_webhook_secrets_key():
    with pytest.raises(ConfigError, match="WEBHOOK_SECRETS_KEY"):
        load_settings({"APP_ENV": "production"})


def test_production_refuses_the_secret_key_as_the_webhook_secrets_key():
    key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ConfigError, match="WEBHOOK_SECRETS_KEY"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": key, "WEBHOOK_SECRETS_KEY": key})
    with pytest.raises(ConfigError) as refused:
        load_settings({"APP_ENV": "production", "WEBHOOK_SECRETS_KEY": key})
    assert "WEBHOOK_SECRETS_KEY" not in str(refused.value)  # a key of its own is accepted


def test_a_webhook_secrets_key_must_be_base64_of_32_bytes_and_is_never_echoed():
    short = base64.b64encode(b"k" * 16).decode()
    for wrong in (short, "not base64 at all!"):
        with pytest.raises(ConfigError, match="WEBHOOK_SECRETS_KEY") as refused:
            load_settings({"WEBHOOK_SECRETS_KEY": wrong})
        assert wrong not in str(refused.value)
    key = base64.b64encode(os.urandom(32)).decode()
    assert load_settings({"WEBHOOK_SECRETS_KEY": key}).webhook_secrets_key == key


def test_development_uses_the_marked_development_key_not_the_secret_key():
    settings = load_settings({"APP_ENV": "development"})
    assert settings.webhook_secrets_key == DEVELOPMENT_KEY
    assert len(decode_key(settings.webhook_secrets_key)) == 32
    assert settings.webhook_secrets_key != settings.secret_key


# --- the service ---


def test_an_endpoint_is_added_with_a_secret_shown_once(endpoints, clock):
    endpoint, secret = endpoints.add(ALICE, None, URL, ["payment.completed"], "Shop backend")

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert endpoint.account_id == ACCOUNT
    assert endpoint.event_types == {EventType.PAYMENT_COMPLETED}
    assert endpoint.status is EndpointStatus.ACTIVE
    assert endpoint.created_at == endpoint.updated_at == clock.now
    assert endpoints.list(ACCOUNT) == [endpoint]
    assert endpoints.signing_secrets(endpoints.get(ACCOUNT, endpoint.endpoint_id), clock.now) == [
        secret
    ]


def test_the_secret_is_stored_only_encrypted(endpoints, store):
    endpoint, secret = endpoints.add(ALICE, None, URL, "all")

    raw = store.client.get_item(
        TableName=store.tables.accounts,
        Key={"accountId": {"S": ACCOUNT}, "sk": {"S": endpoint_sk(endpoint.endpoint_id)}},
        ConsistentRead=True,
    )["Item"]

    stored = repr(raw)
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert (
        base64.b64decode(secret.removeprefix("whsec_"))
        not in raw["secrets"]["L"][0]["M"]["ciphertext"]["B"]
    )


def test_an_endpoint_added_twice_with_one_id_is_refused(endpoints):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")
    with pytest.raises(WebhookEndpointExists):
        endpoints.add(ALICE, endpoint.endpoint_id, URL, "all")
    assert len(endpoints.list(ACCOUNT)) == 1


def test_an_account_has_at_most_ten_endpoints_and_the_error_says_so(endpoints):
    for number in range(MAX_ENDPOINTS):
        endpoints.add(ALICE, None, f"{URL}/{number}", "all")

    with pytest.raises(WebhookEndpointLimitReached) as refused:
        endpoints.add(ALICE, None, URL, "all")
    assert "at most 10 webhook endpoints" in refused.value.explanation()


def test_rotation_keeps_the_old_secret_signing_for_24_hours_then_only_the_new(endpoints, clock):
    endpoint, old = endpoints.add(ALICE, None, URL, "all")
    clock.advance(hours=1)

    rotated, new = endpoints.rotate_secret(ALICE, endpoint.endpoint_id)

    assert new != old
    assert rotated.version == endpoint.version + 1
    stored = endpoints.get(ACCOUNT, endpoint.endpoint_id)
    assert endpoints.signing_secrets(stored, clock.now) == [new, old]
    clock.advance(hours=23, minutes=59)
    assert endpoints.signing_secrets(stored, clock.now) == [new, old]
    clock.advance(minutes=1)
    assert endpoints.signing_secrets(stored, clock.now) == [new]


def test_a_second_rotation_drops_secrets_already_past_their_time(endpoints, clock):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")
    endpoints.rotate_secret(ALICE, endpoint.endpoint_id)
    clock.advance(hours=25)

    rotated, _ = endpoints.rotate_secret(ALICE, endpoint.endpoint_id)

    assert len(rotated.secrets) == 2


def test_an_endpoint_can_be_disabled_and_enabled_again(endpoints):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")

    disabled = endpoints.disable(ALICE, endpoint.endpoint_id, reason="Receiver down")
    assert disabled.status is EndpointStatus.DISABLED
    assert disabled.disabled_reason == "Receiver down"
    assert endpoints.disable(ALICE, endpoint.endpoint_id) == disabled  # nothing more to do

    enabled = endpoints.enable(ALICE, endpoint.endpoint_id)
    assert enabled.is_active
    assert enabled.disabled_reason is None
    assert endpoints.get(ACCOUNT, endpoint.endpoint_id) == enabled


def test_a_deleted_endpoint_is_gone(endpoints):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")

    endpoints.delete(ALICE, endpoint.endpoint_id)

    assert endpoints.list(ACCOUNT) == []
    with pytest.raises(WebhookEndpointNotFound):
        endpoints.get(ACCOUNT, endpoint.endpoint_id)


def test_another_accounts_endpoint_is_not_found(endpoints):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")
    stranger = Actor.for_api_key(OTHER_ACCOUNT, "OtherKey0001", KeyScope.FULL)

    assert endpoints.list(OTHER_ACCOUNT) == []
    for change in (endpoints.rotate_secret, endpoints.disable, endpoints.enable, endpoints.delete):
        with pytest.raises(WebhookEndpointNotFound):
            change(stranger, endpoint.endpoint_id)
    with pytest.raises(WebhookEndpointNotFound):
        endpoints.get(ACCOUNT, "not-a-uuid")
    assert endpoints.get(ACCOUNT, endpoint.endpoint_id) == endpoint


def test_every_change_writes_its_audit_entry_without_the_secret(endpoints, store):
    endpoint, first = endpoints.add(ALICE, None, URL, ["order.paid"], "Shop")
    _, second = endpoints.rotate_secret(SHOP_KEY, endpoint.endpoint_id)
    endpoints.disable(ALICE, endpoint.endpoint_id)
    endpoints.enable(ALICE, endpoint.endpoint_id)
    endpoints.delete(ALICE, endpoint.endpoint_id)

    entries = logged(store)

    assert [entry.action for entry in entries] == [
        AuditAction.WEBHOOK_ENDPOINT_CREATED,
        AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        AuditAction.WEBHOOK_ENDPOINT_ENABLED,
        AuditAction.WEBHOOK_ENDPOINT_DELETED,
    ]
    assert {entry.target_id for entry in entries} == {endpoint.endpoint_id}
    assert entries[0].after == {
        "url": URL,
        "event_types": "order.paid",
        "status": "active",
        "description": "Shop",
    }
    assert entries[1].actor == SHOP_KEY.who
    assert (entries[2].before, entries[2].after) == ({"status": "active"}, {"status": "disabled"})
    assert entries[4].before["url"] == URL
    assert entries[4].after == {}
    assert first not in repr(entries)
    assert second not in repr(entries)
    assert entries[1].action.label == "Webhook signing secret rotated"


# --- who may ---


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.DEVELOPER, True),
        (Role.PAYMENTS_OPERATOR, False),
        (Role.VIEWER, False),
    ],
)
def test_owners_admins_and_developers_manage_webhook_endpoints(role, allowed):
    assert role_can(role, Permission.MANAGE_WEBHOOKS) is allowed


def test_a_full_key_manages_its_systems_endpoints_and_a_read_only_key_does_not():
    assert scope_can(KeyScope.FULL, Permission.MANAGE_WEBHOOKS)
    assert not scope_can(KeyScope.READ_ONLY, Permission.MANAGE_WEBHOOKS)
    assert not scope_can(KeyScope.FULL, Permission.MANAGE_API_KEYS)


def test_a_change_decided_on_a_stale_endpoint_is_refused_and_writes_no_audit_entry(
    endpoints, store, clock
):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")
    endpoints.disable(ALICE, endpoint.endpoint_id)  # the stored endpoint moves on a version
    stale_change = endpoint.changed(clock.now, description="Lost update")

    with pytest.raises(EndpointChanged):
        store.webhook_endpoints.write(endpoint, stale_change)
    with pytest.raises(EndpointChanged):
        store.webhook_endpoints.write(endpoint, None)  # nor a deletion

    assert endpoints.get(ACCOUNT, endpoint.endpoint_id).status is EndpointStatus.DISABLED
    assert len(logged(store)) == 2


def test_a_change_raced_by_another_is_decided_again_on_what_is_stored(
    endpoints, store, monkeypatch
):
    endpoint, _ = endpoints.add(ALICE, None, URL, "all")
    repository = store.webhook_endpoints
    write = repository.write

    def raced_once(before, after, audit=None):
        # Another request disables the endpoint just before this write is sent.
        monkeypatch.setattr(repository, "write", write)
        endpoints.disable(ALICE, endpoint.endpoint_id, reason="Other request")
        write(before, after, audit)

    monkeypatch.setattr(repository, "write", raced_once)

    rotated, secret = endpoints.rotate_secret(ALICE, endpoint.endpoint_id)

    assert rotated.status is EndpointStatus.DISABLED  # the other change is kept
    assert rotated.version == endpoint.version + 2
    assert (
        endpoints.signing_secrets(endpoints.get(ACCOUNT, endpoint.endpoint_id), rotated.updated_at)[
            0
        ]
        == secret
    )
