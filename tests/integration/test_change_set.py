"""The change set's stories on DynamoDB Local, and proof that it enforces the limits we check.

The stories are the unit tests' (``tests/unit/test_change_set.py``), imported and run here on a
real DynamoDB Local: named refusals with what was stored, follower drop and retry, one operation
per key, the 100-item and 4 MB refusals, and retries of an injected conflict.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from dashboard.core.ids import new_id
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payments import PaymentService
from dashboard.store.changeset import MAX_BYTES, transaction_size
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from tests.unit.test_change_set import (  # noqa: F401 - pytest collects the imported stories
    hundred_and_one_puts,
    over_four_megabytes,
    test_a_completed_payment_whose_order_no_longer_follows_it_lands_with_a_warning,
    test_a_conflict_or_throttling_is_retried_and_the_change_written_once,
    test_a_conflict_that_does_not_clear_gives_up,
    test_a_follower_does_not_rescue_a_refused_record,
    test_a_hundred_items_are_one_transaction,
    test_a_lookup_key_of_another_payment_is_named_in_the_refusal,
    test_a_put_and_an_update_of_one_key_are_refused_before_sending,
    test_a_refusing_follower_is_dropped_and_the_change_written_without_it,
    test_a_stale_payment_write_is_refused_by_the_payment_item,
    test_dynamodb_itself_refuses_two_operations_on_one_item,
    test_more_than_a_hundred_items_are_refused_before_sending,
    test_more_than_four_megabytes_are_refused_before_sending,
    test_the_item_that_refused_is_named_whatever_its_place,
    test_the_same_put_asked_for_twice_is_sent_once,
    test_two_increments_of_one_rollup_are_sent_as_one_update,
    test_two_items_with_one_name_are_refused,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live_store(dynamodb_local) -> Store:
    """A Store on the session's DynamoDB Local, its own tables."""
    store = Store(make_client("eu-west-2", dynamodb_local.url), TableNames.with_prefix("changes-"))
    store.ensure_tables()
    return store


@pytest.fixture
def store(live_store: Store) -> Store:
    """The module's Store on DynamoDB Local (every story writes keys of its own)."""
    return live_store


@pytest.fixture
def sandbox(store, clock) -> SandboxProvider:
    """The sandbox provider over DynamoDB Local."""
    return SandboxProvider(
        store.sandbox_links,
        secret=b"sandbox-test-secret",
        hosted_page_url=lambda link_id: f"http://testserver/sandbox/links/{link_id}",
        clock=clock,
    )


@pytest.fixture
def service(store, sandbox, clock) -> PaymentService:
    """The payment service over DynamoDB Local and the sandbox."""
    return PaymentService(
        store.payments, sandbox, return_uri_for=lambda t: f"http://testserver/pay/{t}", clock=clock
    )


def _raw(items) -> list[dict]:
    return [dict(item.operation) for item in items]


def test_dynamodb_local_refuses_101_items_as_the_change_set_does(store):
    with pytest.raises(ClientError) as refused:
        store.client.transact_write_items(
            TransactItems=_raw(hundred_and_one_puts(store, f"raw#{new_id()}"))
        )

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 100" in refused.value.response["Error"]["Message"]


def test_dynamodb_local_refuses_more_than_4_mb_and_counts_no_more_than_our_estimate(store):
    operations = _raw(over_four_megabytes(store, f"raw#{new_id()}"))

    with pytest.raises(ClientError) as refused:
        store.client.transact_write_items(TransactItems=operations)

    message = refused.value.response["Error"]["Message"]
    assert "cannot exceed 4MB" in message
    # "Payload Size: 4290342": what DynamoDB Local counted; the change set's estimate is larger.
    counted = int(re.search(r"Payload Size: (\d+)", message).group(1))
    assert transaction_size(operations) >= counted > MAX_BYTES
    # And one item fewer is one transaction: each item fits, only their sum does not.
    store.client.transact_write_items(TransactItems=operations[:10])
