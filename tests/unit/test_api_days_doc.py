"""The API reads ``from``/``to``/``range`` as UTC days (API_DAYS_ZONE), whatever the
account's zone; the OpenAPI document must not say they are the account's zone's days."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture(scope="module")
def offline_app():
    return create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})


def _parameters(spec, operation_id):
    for methods in spec["paths"].values():
        for operation in methods.values():
            if operation.get("operationId") == operation_id:
                return {
                    p["name"]: p.get("description", "") for p in operation.get("parameters", [])
                }
    raise AssertionError(operation_id)


@pytest.mark.parametrize(
    ("operation_id", "names"),
    [("listPayments", ("range", "from", "to")), ("getStatistics", ("from", "to"))],
)
def test_api_day_parameters_are_documented_as_utc_days(offline_app, operation_id, names):
    params = _parameters(offline_app.extensions["api_openapi"], operation_id)
    for name in names:
        assert "account's" not in params[name], (name, params[name])
        assert "UTC" in params[name], (name, params[name])
