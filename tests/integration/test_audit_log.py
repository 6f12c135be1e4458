"""The audit log's stories on DynamoDB Local: entries written in their change's transaction, and
read back newest first through the table and its two indexes, as the unit tests tell them."""

from __future__ import annotations

import itertools

import pytest

from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.payments import PaymentService
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from tests.unit.test_audit_log import (  # noqa: F401 - pytest collects the imported stories
    history,
    no_scans,
    test_a_cursor_only_continues_the_list_it_came_from,
    test_each_filter_is_one_query_and_pages_like_the_whole_log,
    test_the_log_reads_newest_first_a_page_at_a_time,
)
from tests.unit.test_audit_writes import (  # noqa: F401
    api_keys,
    orders,
    test_an_entry_lands_only_with_its_change,
    test_api_keys_created_and_revoked_are_recorded_by_name,
    test_cancelling_an_order_with_a_live_link_records_both,
    test_creating_a_payment_link_records_who_from_where_and_what,
    test_order_changes_are_recorded_with_what_changed,
)

pytestmark = pytest.mark.integration
_tables = itertools.count()


@pytest.fixture
def store(dynamodb_local) -> Store:
    """A Store on the session's DynamoDB Local, with tables of its own for each story."""
    prefix = f"audit{next(_tables)}-"
    store = Store(make_client("eu-west-2", dynamodb_local.url), TableNames.with_prefix(prefix))
    store.ensure_tables()
    return store


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
