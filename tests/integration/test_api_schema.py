"""schemathesis against the live app on DynamoDB Local: the API does what its OpenAPI says.

Every operation in ``/api/v1/openapi.json`` gets generated requests (valid and invalid), sent
with a real API key. No answer may be a 5xx, and every answer's status code, content type,
headers and body must be the ones the document declares. Bounded: at most 20 examples per
operation, no deadline (DynamoDB Local on two cores is not fast), no shrinking.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.app import create_app
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.live import LiveApp

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 20

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_key(live_app: LiveApp) -> str:
    """A real API key of a merchant who has a payment or two."""
    _key, presented = live_app.app.extensions["api_keys"].create_key(
        actor_for("schema@example.com"), "CI"
    )
    return presented


@pytest.fixture(scope="module")
def api_schema(live_app: LiveApp):
    """The API's OpenAPI document as the live app serves it, with the rate limit out of the way."""
    limit = live_app.app.config["API_RATE_LIMIT"]
    # Generated requests come faster than a person's script; the limit has its own unit tests.
    live_app.app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_url(f"{live_app.url}/api/v1/openapi.json")
    yield schema
    live_app.app.config["API_RATE_LIMIT"] = limit


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """Return (method, path, mode) for every operation: valid input, and invalid where it has any."""
    # Read from the app's own document (building the app touches no DynamoDB); a test checks
    # that the served document is this one.
    app = create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})
    cases = []
    for path, methods in app.extensions["api_openapi"]["paths"].items():
        for method, operation in methods.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_every_operation_answers_as_documented(api_schema, api_key, method, path, mode):
    operation = api_schema[path][method]
    auth = {"Authorization": f"Bearer {api_key}"}

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answers_as_documented(case):
        case.call_and_validate(headers=auth, checks=CHECKS, timeout=20)

    answers_as_documented()


def test_the_served_document_is_the_apps(api_schema, live_app: LiveApp):
    assert api_schema.raw_schema == live_app.app.extensions["api_openapi"]
