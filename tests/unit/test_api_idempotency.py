"""Idempotency-Key: a script that retries a POST never creates a payment twice."""

from __future__ import annotations

import pytest

from dashboard.core.ids import new_id
from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.api.idempotency import IdempotencyKeys
from tests.unit.api_support import (
    ALICE,
    BOB,
    NEW_PAYMENT,
    api_key_for,
    assert_problem,
    bearer,
    fail_storing_the_first_link,
)


@pytest.fixture
def alice(app):
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


@pytest.fixture
def keys(app, clock) -> IdempotencyKeys:
    """The app's idempotency records, aged by the test clock."""
    keys = app.extensions["api_idempotency"]
    keys.clock = clock
    return keys


def _post(client, headers, key, body=NEW_PAYMENT, url="/api/v1/payments"):
    return client.post(url, json=body, headers={**headers, "Idempotency-Key": key})


def _payment_count(client, headers) -> int:
    return len(client.get("/api/v1/payments", headers=headers).json["data"])


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(client, alice, keys):
    first = _post(client, alice, "order-1042-attempt")
    retry = _post(client, alice, "order-1042-attempt")

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _payment_count(client, alice) == 1


def test_the_same_body_in_another_key_order_is_the_same_request(client, alice, keys):
    _post(client, alice, "k1", {"currency": "GBP", "reference": "R 1", "amount": "5.00"})
    retry = _post(client, alice, "k1", {"amount": "5.00", "reference": "R 1", "currency": "GBP"})

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert _payment_count(client, alice) == 1


def test_the_same_key_with_another_body_is_a_422(client, alice, keys):
    _post(client, alice, "k1")

    response = _post(client, alice, "k1", {**NEW_PAYMENT, "amount": "99.00"})

    assert_problem(response, 422, "idempotency-key-reused")
    assert _payment_count(client, alice) == 1


def test_the_same_key_on_another_endpoint_is_a_422(client, alice, keys):
    payment = _post(client, alice, "k1").json

    response = _post(client, alice, "k1", None, f"/api/v1/payments/{payment['id']}/cancel")

    assert_problem(response, 422, "idempotency-key-reused")


def test_a_key_still_in_progress_is_a_409(app, client, alice, keys, clock):
    from dashboard.web.api.idempotency import request_fingerprint

    with app.test_request_context("/api/v1/payments", method="POST", json=NEW_PAYMENT):
        fingerprint = request_fingerprint()
    assert keys.repository.claim(ALICE, "k1", fingerprint, clock(), new_id()).token

    response = _post(client, alice, "k1")

    assert_problem(response, 409, "idempotency-key-in-use")
    assert response.headers["Retry-After"] == "1"
    assert _payment_count(client, alice) == 0


def test_a_claim_abandoned_by_a_crash_can_be_taken_over_after_its_lease(
    app, client, alice, keys, clock
):
    from dashboard.core.ids import new_id
    from dashboard.web.api.idempotency import request_fingerprint

    first_id = new_id()
    with app.test_request_context("/api/v1/payments", method="POST", json=NEW_PAYMENT):
        crashed = keys.repository.claim(ALICE, "k1", request_fingerprint(), clock(), first_id)
    clock.advance(minutes=3)

    response = _post(client, alice, "k1")

    assert response.status_code == 201
    # The crashed run may have recorded its payment: the takeover names that same payment.
    assert response.json["id"] == crashed.resource_id == first_id


def test_keys_expire_after_24_hours(client, alice, keys, clock):
    _post(client, alice, "k1")
    clock.advance(hours=23, minutes=59)
    assert _post(client, alice, "k1").headers["Idempotent-Replayed"] == "true"

    clock.advance(minutes=2)
    again = _post(client, alice, "k1")
    other_body = _post(client, alice, "k2")
    clock.advance(hours=25)
    reused = _post(client, alice, "k2", {**NEW_PAYMENT, "amount": "1.00"})

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert other_body.status_code == reused.status_code == 201
    assert _payment_count(client, alice) == 4


def test_keys_belong_to_one_merchant(app, client, alice, keys):
    bob = bearer(api_key_for(app, BOB))

    alices = _post(client, alice, "shared-key")
    bobs = _post(client, bob, "shared-key")

    assert bobs.status_code == 201
    assert "Idempotent-Replayed" not in bobs.headers
    assert bobs.json["id"] != alices.json["id"]


def test_a_validation_answer_is_kept_and_replayed(client, alice, keys):
    first = _post(client, alice, "k1", {**NEW_PAYMENT, "currency": "USD"})
    retry = _post(client, alice, "k1", {**NEW_PAYMENT, "currency": "USD"})

    assert_problem(first, 422, "validation-error")
    assert_problem(retry, 422, "validation-error")
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_a_server_error_releases_the_key_so_a_retry_runs(app, client, alice, keys, monkeypatch):
    service = app.extensions["payment_service"]
    real_create = service.create_payment_link

    def unavailable(*_args, **_kwargs):
        raise StoreUnavailable("throttled")

    monkeypatch.setattr(service, "create_payment_link", unavailable)
    failed = _post(client, alice, "k1")
    monkeypatch.setattr(service, "create_payment_link", real_create)
    retry = _post(client, alice, "k1")

    assert_problem(failed, 503, "unavailable")
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers


def test_a_retry_after_a_failure_mid_way_returns_the_payment_the_first_run_made(
    app, client, alice, keys, monkeypatch
):
    # The payment is recorded and its link made at the provider; then storing the link fails.
    fail_storing_the_first_link(app, monkeypatch)
    failed = _post(client, alice, "invoice-42")

    retry = _post(client, alice, "invoice-42")
    again = _post(client, alice, "invoice-42")

    assert_problem(failed, 503, "unavailable")
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers  # it ran again, on the same payment id
    listed = client.get("/api/v1/payments", headers=alice).json["data"]
    assert [p["id"] for p in listed] == [retry.json["id"]]
    assert retry.headers["Location"].endswith(f"/api/v1/payments/{retry.json['id']}")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == retry.json


def test_after_a_failure_the_same_key_with_another_body_is_still_a_422(
    app, client, alice, keys, monkeypatch
):
    fail_storing_the_first_link(app, monkeypatch)
    _post(client, alice, "invoice-42")

    response = _post(client, alice, "invoice-42", {**NEW_PAYMENT, "amount": "99.00"})

    assert_problem(response, 422, "idempotency-key-reused")
    assert _payment_count(client, alice) == 1  # only the first run's payment


def test_a_released_key_still_expires_24_hours_after_its_first_use(
    app, client, alice, keys, clock, monkeypatch
):
    fail_storing_the_first_link(app, monkeypatch)
    failed = _post(client, alice, "k1")
    first_id = client.get("/api/v1/payments", headers=alice).json["data"][0]["id"]
    clock.advance(hours=24, minutes=1)

    new_request = _post(client, alice, "k1", {**NEW_PAYMENT, "amount": "99.00"})

    assert failed.status_code == 503
    assert new_request.status_code == 201
    assert new_request.json["id"] != first_id
    assert _payment_count(client, alice) == 2


def test_a_conflict_is_not_kept_either(client, alice, keys):
    payment = _post(client, alice, "create").json
    url = f"/api/v1/payments/{payment['id']}/cancel"
    client.post(url, headers=alice)

    refused = _post(client, alice, "cancel", None, url)

    assert_problem(refused, 409, "conflict")
    assert "Idempotent-Replayed" not in _post(client, alice, "cancel", None, url).headers


def test_cancel_replays_its_first_answer(client, alice, keys):
    payment = _post(client, alice, "create").json
    url = f"/api/v1/payments/{payment['id']}/cancel"

    first = _post(client, alice, "cancel-1", None, url)
    retry = _post(client, alice, "cancel-1", None, url)

    assert first.status_code == retry.status_code == 200
    assert retry.json["status"] == "cancelled"
    assert retry.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_a_key_that_is_not_1_to_255_printable_characters_is_a_400(client, alice, key):
    response = client.post(
        "/api/v1/payments",
        json=NEW_PAYMENT,
        headers={**alice, "Idempotency-Key": key.encode().decode("latin-1")},
    )

    problem = assert_problem(response, 400, "validation-error")
    assert "Idempotency-Key" in problem["errors"]
    assert _payment_count(client, alice) == 0


def test_a_retry_after_a_failure_mid_way_finishes_the_same_link(app, client, alice, monkeypatch):
    fail_storing_the_first_link(app, monkeypatch)
    headers = {**alice, "Idempotency-Key": "inv-42"}

    failed = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=headers)
    retry = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=headers)

    assert failed.status_code == 503
    assert retry.status_code == 201
    assert retry.json["status"] == "awaiting_payment"
    assert retry.json["link_url"]
    assert _payment_count(client, alice) == 1


def test_an_expired_key_is_not_claimed_again_while_a_takeover_holds_its_lease(keys, clock):
    first = keys.repository.claim(ALICE, "k", "fp", clock(), "res-1")
    assert keys.repository.release(ALICE, "k", first.token)
    clock.advance(hours=23, minutes=59, seconds=30)
    running = keys.repository.claim(ALICE, "k", "fp", clock(), "res-2")  # takes over
    assert running.resumed
    assert running.resource_id == "res-1"
    clock.advance(seconds=40)  # past 24 hours, but the takeover still runs under its lease

    second = keys.repository.claim(ALICE, "k", "fp", clock(), "res-3")

    assert second.token is None  # one run at a time, whatever the key's age
    clock.advance(minutes=3)
    assert keys.repository.claim(ALICE, "k", "fp", clock(), "res-4").token  # lease over: free


@pytest.mark.parametrize("idempotency_key", [None, "big-exponent"])
@pytest.mark.parametrize("url", ["/api/v1/orders", "/api/v1/payments"])
def test_a_number_too_big_for_a_decimal_is_a_400_not_a_500(client, alice, url, idempotency_key):
    headers = {**alice, "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key

    response = client.post(url, data='{"quantity": 1e99999999999999999999}', headers=headers)

    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


class _PutItemRetriedAfterItLanded:
    """A DynamoDB client whose PutItem lands, loses its answer, and is sent again by botocore.

    What a stall of more than ~5 s looks like from the app: the first copy claims the key, the
    read timeout fires, and botocore's retry of the same request fails its condition.
    """

    def __init__(self, client):
        self._client = client

    def put_item(self, **request):
        self._client.put_item(**request)
        return self._client.put_item(**request)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_claim_whose_put_was_retried_by_botocore_is_still_ours(client, alice, keys, clock):
    repository = keys.repository
    repository._client = _PutItemRetriedAfterItLanded(repository._client)

    claim = repository.claim(ALICE, "k1", "fp", clock(), "res-1")

    assert claim.token is not None
    assert claim.existing is None
    assert claim.resource_id == "res-1"
    assert repository.complete(ALICE, "k1", claim.token, _stored_response())


def test_a_request_whose_claim_was_retried_by_botocore_answers_instead_of_409(client, alice, keys):
    keys.repository._client = _PutItemRetriedAfterItLanded(keys.repository._client)

    response = _post(client, alice, "k1")

    assert response.status_code == 201
    assert _payment_count(client, alice) == 1


def _stored_response():
    from dashboard.store.idempotency import StoredResponse

    return StoredResponse(status=201, body="{}", content_type="application/json")


class _TakeoverRetriedAfterItLanded:
    """A takeover's UpdateItem lands, loses its answer, and botocore sends it again."""

    def __init__(self, client):
        self._client = client

    def update_item(self, **request):
        if "claimToken = :seen" in request.get("ConditionExpression", ""):
            self._client.update_item(**request)  # the first copy lands
        return self._client.update_item(**request)  # the retry

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_takeover_whose_update_was_retried_by_botocore_is_still_ours(keys, clock):
    repository = keys.repository
    first = repository.claim(ALICE, "k", "fp", clock(), "res-1")
    assert repository.release(ALICE, "k", first.token)  # the first run failed; a retry may run
    repository._client = _TakeoverRetriedAfterItLanded(repository._client)

    retry = repository.claim(ALICE, "k", "fp", clock(), "res-2")

    assert retry.existing is None
    assert retry.token is not None
    assert retry.resource_id == "res-1"
    assert retry.resumed
