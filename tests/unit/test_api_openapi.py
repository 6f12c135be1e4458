"""The OpenAPI document matches the app: same routes and methods, valid, answers fit its schemas."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from dashboard.app import create_app
from dashboard.web.api.openapi import API_PREFIX
from tests.conftest import TEST_SECRET_KEY
from tests.unit.api_support import ALICE, NEW_PAYMENT, api_key_for, bearer


@pytest.fixture(scope="module")
def offline_app():
    """The app without DynamoDB: building it and its document makes no call."""
    return create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})


def _operations_in_url_map(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API_PREFIX))
        found |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def _operations_in_spec(spec) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in spec["paths"].items() for method in methods}


def test_every_api_route_is_in_the_document_and_nothing_else(offline_app):
    spec = offline_app.extensions["api_openapi"]

    in_app, in_spec = _operations_in_url_map(offline_app), _operations_in_spec(spec)

    assert in_app == in_spec
    assert ("post", "/payments/{payment_id}/cancel") in in_spec


def test_the_document_is_valid_openapi_3_1(offline_app):
    spec = offline_app.extensions["api_openapi"]

    validate(spec)

    assert spec["openapi"] == "3.1.0"
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "session"}


def test_every_operation_has_an_id_a_summary_and_a_success_answer(offline_app):
    spec = offline_app.extensions["api_openapi"]
    ids = []
    for methods in spec["paths"].values():
        for operation in methods.values():
            ids.append(operation["operationId"])
            assert operation["summary"]
            assert any(code.startswith("2") for code in operation["responses"])
    assert len(ids) == len(set(ids))


def test_private_operations_document_401_and_writes_document_idempotency(offline_app):
    spec = offline_app.extensions["api_openapi"]
    for methods in spec["paths"].values():
        for method, operation in methods.items():
            if operation.get("security") == []:
                continue
            assert "401" in operation["responses"]
            if method == "post":
                assert {"403", "409", "422"} <= set(operation["responses"])
                assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]


def _validator(spec, schema_name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_real_answers_fit_their_schemas(app, client):
    spec = client.get("/api/v1/openapi.json").json
    alice = bearer(api_key_for(app, ALICE))
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    cancelled = client.post(f"/api/v1/payments/{created['id']}/cancel", headers=alice).json

    _validator(spec, "Payment").validate(created)
    _validator(spec, "Payment").validate(cancelled)
    _validator(spec, "PaymentList").validate(client.get("/api/v1/payments", headers=alice).json)
    _validator(spec, "Statistics").validate(client.get("/api/v1/stats", headers=alice).json)
    _validator(spec, "Health").validate(client.get("/api/v1/health").json)
    _validator(spec, "Problem").validate(client.get("/api/v1/payments").get_json(force=True))
    _validator(spec, "Problem").validate(
        client.post("/api/v1/payments", json={}, headers=alice).get_json(force=True)
    )


def test_the_docs_page_lists_every_endpoint_with_a_curl_example(offline_app):
    spec = offline_app.extensions["api_openapi"]
    html = offline_app.test_client().get("/api/v1/docs").get_data(as_text=True)

    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert f'id="{operation["operationId"]}"' in html
            assert f"{method.upper()}</span> <code>{API_PREFIX}{path}</code>" in html
    curls = re.findall(r'<pre class="api-curl"><code>(.*?)</code></pre>', html, re.S)
    operations = [op for methods in spec["paths"].values() for op in methods.values()]
    private = [op for op in operations if op.get("security") != []]
    assert len(curls) == len(operations) >= 14
    assert sum("Authorization: Bearer $API_KEY" in c for c in curls) == len(private)
    assert "Idempotency-Key: $(uuidgen)" in html
    assert "&#34;reference&#34;: &#34;Invoice 42&#34;" in html  # the example body
    assert 'id="problem-validation-error"' in html
    assert "<script>" not in html
    assert "style=" not in html


def test_the_docs_page_names_the_problem_body_once_per_endpoint(offline_app):
    html = offline_app.test_client().get("/api/v1/docs").get_data(as_text=True)
    create_payment = html[html.index('id="createPayment"') : html.index('id="listPayments"')]

    # Not "Problem (application/problem+json)" on every error row: one line links the section.
    assert "Problem (application/problem+json)" not in html
    assert (
        'Errors 400, 401, 403, 409, 413, 415, 422, 429, 503 → <a href="#problems">Problem</a>'
        in create_payment
    )
    assert "Body: <code>Payment</code>" in create_payment
    assert re.search(r"<td[^>]*>409</td>\s*<td>Not possible in the resource", create_payment)


def test_the_docs_page_can_lay_its_lists_out_for_a_phone(offline_app):
    html = offline_app.test_client().get("/api/v1/docs").get_data(as_text=True)

    # Each summary in its own element, so it can sit on its own line under its path.
    assert '<span class="api-toc-summary">Create a payment link</span>' in html
    # A field's "In" and "Required" are in its name cell too, for the card layout.
    assert re.search(
        r'<code>amount</code>\s*<span class="api-field-meta">body · required</span>', html
    )
    assert '<td data-label="Description" class="api-field-description">' in html


def test_the_document_says_how_long_a_payer_name_may_be(offline_app):
    schemas = offline_app.extensions["api_openapi"]["components"]["schemas"]

    payer_name = schemas["NewPayment"]["properties"]["payer_name"]

    assert payer_name["maxLength"] == 60
    assert payer_name["type"] == ["string", "null"]


def test_the_docs_contents_link_every_endpoint_and_every_endpoint_links_back(offline_app):
    html = offline_app.test_client().get("/api/v1/docs").get_data(as_text=True)
    start = html.index('<nav class="api-contents"')
    contents = html[start : html.index("</nav>", start)]

    anchors = re.findall(r'<article class="api-endpoint" id="([^"]+)"', html)
    assert len(anchors) >= 10
    for anchor in anchors:
        assert f'href="#{anchor}"' in contents, anchor
    for section in ("api-start", "problems", "schemas"):
        assert f'href="#{section}"' in contents
    # Every endpoint, and the two closing sections, end with the way back.
    assert html.count('<a href="#contents">Back to contents</a>') == len(anchors) + 2
