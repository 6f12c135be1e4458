"""One error catalogue: an error's meaning decides its status, for pages, htmx and the API."""

from __future__ import annotations

import pytest

from dashboard.core.errors import DomainError, ErrorKind
from dashboard.web.errors import PROBLEM_TYPE, STATUS
from tests.unit.api_support import ALICE, api_key_for, assert_problem, bearer

UNKNOWN_PAYMENT = "01900000-0000-7000-8000-000000000000"


def _every_domain_error(cls=DomainError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _every_domain_error(sub)


def test_every_domain_error_has_a_meaning_a_title_and_a_status(app):
    errors = list(_every_domain_error())
    names = {error.__name__ for error in errors}
    # The app is built, so every layer's exceptions are imported: the catalogue holds them all.
    assert {"PaymentNotFound", "OrderNotFound", "StoreUnavailable", "ProviderRejected"} <= names
    assert {"InvalidTransition", "StaleWrite", "SignInUnavailable", "ApiKeyNotFound"} <= names

    for error in errors:
        assert error.kind in STATUS, error
        assert error.title, error


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ErrorKind.INVALID_INPUT, 422),
        (ErrorKind.NOT_FOUND, 404),
        (ErrorKind.CONFLICT, 409),
        (ErrorKind.FORBIDDEN, 403),
        (ErrorKind.UNAVAILABLE, 503),
        (ErrorKind.REFUSED_UPSTREAM, 502),
    ],
)
def test_each_meaning_is_one_http_status(kind, status):
    assert STATUS[kind] == status


def test_the_api_problem_types_exist_on_the_docs_page():
    from dashboard.web.api.problems import PROBLEM_TYPES

    assert set(PROBLEM_TYPE.values()) <= set(PROBLEM_TYPES)


def test_a_missing_payment_is_the_same_404_as_a_page_a_fragment_and_a_problem(app, merchant):
    url = f"/payments/{UNKNOWN_PAYMENT}"

    page = merchant.get(url)
    fragment = merchant.get(url, headers={"HX-Request": "true"})
    problem = merchant.get(f"/api/v1{url}", headers=bearer(api_key_for(app, ALICE)))

    assert page.status_code == fragment.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Payment not found" in page.get_data(as_text=True)
    fragment_html = fragment.get_data(as_text=True)
    assert "Payment not found" in fragment_html
    assert "<html" not in fragment_html  # the error block alone, for htmx to swap
    assert "HX-Request" in fragment.headers["Vary"]
    body = assert_problem(problem, 404, "not-found")
    assert body["title"] == "Payment not found"
    assert body["detail"] == "There is no such payment in your account."


def _raising(exc):
    def fail(*_args, **_kwargs):
        raise exc

    return fail


def test_the_api_keeps_its_problem_wording_for_a_write_that_lost_a_race(app):
    from dashboard.store.payments import StaleWrite
    from tests.unit.api_support import api_key_for, assert_problem, bearer

    app.extensions["payment_service"].cancel_payment = _raising(StaleWrite("p1"))

    response = app.test_client().post(
        "/api/v1/payments/p1/cancel", headers=bearer(api_key_for(app))
    )

    body = assert_problem(response, 409, "conflict")
    assert body["title"] == "Not possible now"
    assert body["detail"] == "The resource changed while we saved it. Read it again and retry."


def test_the_api_keeps_its_problem_wording_for_the_store_and_the_provider(app):
    from dashboard.providers.base import ProviderRejected
    from dashboard.store.dynamo import StoreUnavailable
    from tests.unit.api_support import api_key_for, assert_problem, bearer

    headers = bearer(api_key_for(app))
    service = app.extensions["payment_service"]
    service.get_payment = _raising(ProviderRejected("bad iban"))
    refused = app.test_client().get("/api/v1/payments/p1", headers=headers)
    service.get_payment = _raising(StoreUnavailable("timeout"))
    down = app.test_client().get("/api/v1/payments/p1", headers=headers)

    assert assert_problem(refused, 502)["title"] == "Bad Gateway"
    assert refused.json["detail"] == "The payment provider refused: bad iban"
    assert assert_problem(down, 503, "unavailable")["title"] == "Service unavailable"
    assert down.json["detail"].startswith("The payment store is not answering right now.")
