"""Helpers for audit log tests: the actors who act, and the log read back in time order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from dashboard.core.clock import utc_now
from dashboard.domain.actor import Actor, Person
from dashboard.domain.audit import AuditEntry
from dashboard.services.audit import AuditLogService, AuditQuery
from dashboard.store.cursors import CursorCodec
from dashboard.store.database import Store
from tests.conftest import TEST_ISSUER, TEST_SECRET_KEY

ACCOUNT = "acct_audit"
ALICE_PERSON = Person(TEST_ISSUER, "alice-sub")
ALICE = replace(
    Actor.for_person(ACCOUNT, ALICE_PERSON), label="alice@example.com", ip_address="203.0.113.7"
)
SHOP_KEY = replace(
    Actor.for_api_key(ACCOUNT, "ShopKey00001"), label="Web shop", ip_address="198.51.100.2"
)
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def audit_service(store: Store, clock=utc_now) -> AuditLogService:
    """Return the audit log service over the test store."""
    cursors = CursorCodec(TEST_SECRET_KEY)
    return AuditLogService(store.audit, cursors, store.accounts, store.api_keys, clock)


def logged(store: Store, account_id: str = ACCOUNT) -> list[AuditEntry]:
    """Return every entry of the account, oldest first (the order the changes were made in)."""
    return list(reversed(list(audit_service(store).export(account_id, AuditQuery()))))
