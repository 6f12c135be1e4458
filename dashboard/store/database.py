"""The app's DynamoDB client, its table names and the repositories built on them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from dashboard.store.accounts import AccountRepository
from dashboard.store.api_keys import ApiKeyRepository
from dashboard.store.audit import AuditLogRepository
from dashboard.store.business import BusinessRepository
from dashboard.store.deliveries import DeliveryRepository
from dashboard.store.dynamo import (
    StoreUnavailable,
    TableNames,
    error_code,
    translate_unavailable,
)
from dashboard.store.events import EventRepository
from dashboard.store.finder import PaymentFinder
from dashboard.store.orders import OrderRepository
from dashboard.store.payments import PaymentRepository
from dashboard.store.rollups import RollupRepository
from dashboard.store.sandbox_links import SandboxLinkRepository
from dashboard.store.schema import ensure_tables
from dashboard.store.sessions import SessionRepository
from dashboard.store.team import TeamRepository
from dashboard.store.webhook_endpoints import WebhookEndpointRepository
from dashboard.store.webhook_events import WebhookEventLog

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Store:
    """The app's DynamoDB client and the repositories built on it."""

    def __init__(self, client: DynamoDBClient, tables: TableNames):
        self.client = client
        self.tables = tables
        self.payments = PaymentRepository(client, tables)
        self.sandbox_links = SandboxLinkRepository(client, tables)
        self.finder = PaymentFinder(client, tables)
        self.rollups = RollupRepository(client, tables)
        self.webhook_events = WebhookEventLog(client, tables)
        self.orders = OrderRepository(client, tables)
        self.api_keys = ApiKeyRepository(client, tables)
        self.sessions = SessionRepository(client, tables)
        self.accounts = AccountRepository(client, tables)
        self.team = TeamRepository(client, tables)
        self.business = BusinessRepository(client, tables)
        self.audit = AuditLogRepository(client, tables)
        self.events = EventRepository(client, tables)
        self.webhook_endpoints = WebhookEndpointRepository(client, tables)
        self.deliveries = DeliveryRepository(client, tables)

    def check_tables(self) -> None:
        """Raise StoreUnavailable unless DynamoDB answers and every table exists."""
        for table in self.tables.all():
            try:
                with translate_unavailable():
                    status = self.client.describe_table(TableName=table)["Table"]["TableStatus"]
            except ClientError as exc:
                raise StoreUnavailable(f"{table}: {error_code(exc)}") from exc
            if status not in ("ACTIVE", "UPDATING"):
                raise StoreUnavailable(f"{table} is {status}")

    def ensure_tables(self) -> list[str]:
        """Create or update every table and index; return what was done."""
        with translate_unavailable():
            return ensure_tables(self.client, self.tables)
