"""Statistics and health over the JSON API, and the rate limit that protects it."""

from __future__ import annotations

import pytest

from dashboard.store.dynamo import StoreUnavailable
from tests.unit.api_support import ALICE, BOB, NEW_PAYMENT, api_key_for, assert_problem, bearer
from tests.unit.stats_support import refund_payment


@pytest.fixture
def alice(app):
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


def test_statistics_count_the_merchants_payments_per_currency(app, client, alice):
    for amount in ("10.00", "2.50"):
        client.post("/api/v1/payments", json={**NEW_PAYMENT, "amount": amount}, headers=alice)
    bob = bearer(api_key_for(app, BOB))
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=bob)

    stats = client.get("/api/v1/stats?days=7", headers=alice).json

    assert stats["days"] == 7
    assert [c["currency"] for c in stats["currencies"]] == ["GBP", "EUR"]
    gbp = stats["currencies"][0]
    assert gbp["payments"] == 2
    assert gbp["links_created"] == 2
    assert gbp["by_group"]["pending"] == 2
    assert gbp["by_status"]["awaiting_payment"] == 2
    assert gbp["completed"] == 0
    assert gbp["completed_volume"] == "0.00"
    assert gbp["conversion"] == "0.0000"
    assert gbp["attempt_success"] is None
    assert len(gbp["daily"]) == 7
    assert sum(d["by_group"]["pending"] for d in gbp["daily"]) == 2


def test_statistics_give_refunded_volume_refunds_and_net_volume_in_minor_units(app, client, alice):
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    store = app.extensions["store"]
    payment = store.payments.get(ALICE, created["id"])
    service = app.extensions["payment_service"]
    for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
        service.apply_provider_event(event)
    refund_payment(store.payments, ALICE, payment.payment_id, 450, payment.created_at)
    refund_payment(
        store.payments, ALICE, payment.payment_id, 100, payment.created_at, returned=True
    )

    gbp = client.get("/api/v1/stats?days=7", headers=alice).json["currencies"][0]

    assert (gbp["completed_volume_minor"], gbp["refunded_volume_minor"]) == (1250, 450)
    assert gbp["refunds"] == 1
    assert (gbp["net_volume"], gbp["net_volume_minor"]) == ("8.00", 800)
    assert gbp["refunded_volume"] == "4.50"
    assert gbp["refunded_volume_change"] is None  # nothing refunded the week before


def test_statistics_for_one_currency_and_custom_dates(client, alice):
    stats = client.get(
        "/api/v1/stats?from=2026-01-01&to=2026-01-31&currency=eur", headers=alice
    ).json

    assert (stats["from"], stats["to"], stats["days"]) == ("2026-01-01", "2026-01-31", 31)
    assert (stats["previous_from"], stats["previous_to"]) == ("2025-12-01", "2025-12-31")
    assert [c["currency"] for c in stats["currencies"]] == ["EUR"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("days=5", "days"),
        ("days=²", "days"),  # "²".isdigit() is True, yet it is no number
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=1999-12-31&to=2000-01-02", "from"),
        ("from=yesterday", "from"),
        ("currency=USD", "currency"),
    ],
)
def test_a_range_the_page_would_refuse_is_a_400(client, alice, query, field):
    response = client.get(f"/api/v1/stats?{query}", headers=alice)

    assert field in assert_problem(response, 400, "validation-error")["errors"]


def test_health_reports_the_version_and_dynamodb(client):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "app": "ok", "dynamodb": "ok", "version": "0.1.0"}


def test_health_is_a_503_problem_when_dynamodb_is_away(app, client, monkeypatch):
    def away():
        raise StoreUnavailable("http://internal-endpoint:8000 refused")

    monkeypatch.setattr(app.extensions["store"], "check_tables", away)
    response = client.get("/api/v1/health")

    problem = assert_problem(response, 503, "unavailable")
    assert "internal-endpoint" not in response.get_data(as_text=True)
    assert problem["detail"] == "DynamoDB or its tables are not available."


def test_over_the_rate_limit_a_key_gets_429_with_retry_after(app, client, alice):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    other_key = bearer(api_key_for(app, ALICE, "Another system"))

    answers = [client.get("/api/v1/payments", headers=alice).status_code for _ in range(3)]
    limited = client.get("/api/v1/payments", headers=alice)

    assert answers == [200, 200, 200]
    problem = assert_problem(limited, 429, "rate-limited")
    assert "3 per 1 minute" in problem["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Counted per key: another key (even of the same merchant) has its own allowance.
    assert client.get("/api/v1/payments", headers=other_key).status_code == 200
    # Health stays reachable for load balancers.
    assert client.get("/api/v1/health").status_code == 200


def test_refused_keys_are_counted_by_address(app, client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    wrong = {"Authorization": "Bearer wrong"}

    answers = [client.get("/api/v1/payments", headers=wrong).status_code for _ in range(3)]

    assert answers == [401, 401, 429]


def test_the_session_is_limited_per_merchant(app, client):
    from tests.unit.conftest import sign_in

    app.config["API_RATE_LIMIT"] = "1 per minute"
    sign_in(client, ALICE)

    assert client.get("/api/v1/stats").status_code == 200
    assert_problem(client.get("/api/v1/payments"), 429, "rate-limited")


def test_the_rate_limit_comes_from_the_environment_and_is_checked_at_start_up():
    from dashboard.config import ConfigError, load_settings

    assert load_settings({}).api_rate_limit == "120 per minute"
    assert load_settings({"API_RATE_LIMIT": "10/second"}).api_rate_limit == "10/second"
    with pytest.raises(ConfigError, match="API_RATE_LIMIT"):
        load_settings({"API_RATE_LIMIT": "lots"})


def test_the_rate_limit_store_is_in_process_by_default_and_redis_when_configured():
    from dashboard.config import ConfigError, load_settings

    assert load_settings({}).ratelimit_storage_uri == "memory://"
    shared = load_settings({"RATELIMIT_STORAGE_URI": "rediss://:pw@cache.internal:6379/2"})
    assert shared.ratelimit_storage_uri == "rediss://:pw@cache.internal:6379/2"
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI") as refused:
        load_settings({"RATELIMIT_STORAGE_URI": "mongodb://admin:hunter2@db/limits"})
    assert "hunter2" not in str(refused.value)  # the store's password never reaches a log


def test_production_refuses_to_count_rate_limits_in_one_process():
    from dashboard.config import ConfigError, load_settings

    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "AUTH0_DOMAIN": "tenant.eu.auth0.com",
        "AUTH0_CLIENT_ID": "id",
        "AUTH0_CLIENT_SECRET": "secret",
    }
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI=redis://"):
        load_settings(production)


def test_the_redis_store_gives_up_within_half_a_second_without_retrying():
    from dashboard.web.api.wiring import ratelimit_storage_options

    options = ratelimit_storage_options("redis://cache.internal:6379/0")

    assert options["socket_timeout"] <= 0.5
    assert options["socket_connect_timeout"] <= 0.5
    assert options["retry"].get_retries() == 0
    assert ratelimit_storage_options("memory://") == {}
