"""Settings → Webhooks: a merchant adds an endpoint, sees its secret once, rotates, disables,
deletes it, and reads its delivery log with Resend and Send test event."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.domain.actor import Role
from dashboard.domain.deliveries import TEST_EVENT_TYPE, DeliveryState
from dashboard.domain.webhook_endpoints import EndpointStatus
from dashboard.services.sessions import SESSION_ID_KEY
from tests.conftest import PRIVATE_TEST_HOST, FakeClock, actor_for, csrf_token_from
from tests.unit.conftest import sign_in
from tests.unit.test_confirm_pages import _join
from tests.webhook_receiver import answer_with, running_receiver

ALICE = actor_for("alice@example.com")
PAGE = "/settings/webhooks"
URL = "https://shop.example/webhooks"
_SECRET = re.compile(r'id="new-signing-secret"[^>]*value="(whsec_[^"]+)"')


def _token(client: FlaskClient) -> str:
    return csrf_token_from(client.get(PAGE).get_data(as_text=True))


def _add(client: FlaskClient, **fields):
    data = {"csrf_token": _token(client), "url": URL, "all_events": "y", **fields}
    return client.post(PAGE, data=data)


def _endpoints(app: Flask, account: str = "alice@example.com"):
    return app.extensions["webhook_endpoints"].list(account)


def _an_endpoint(app: Flask, actor=ALICE):
    return app.extensions["webhook_endpoints"].add(actor, None, URL, "all", "Shop")[0]


def test_a_merchant_without_endpoints_learns_what_they_are_for(merchant):
    response = merchant.get(PAGE)
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "No webhook endpoints yet" in html
    assert re.search(r'href="/settings/webhooks"\s+aria-current="page">Webhooks</a>', html)
    assert ">Add endpoint</button>" in html


def test_an_added_endpoint_shows_its_secret_once_and_then_is_listed(app, merchant):
    response = _add(merchant, description="Shop backend")
    html = response.get_data(as_text=True)
    match = _SECRET.search(html)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert match, "the page shows no signing secret"
    secret = match.group(1)
    assert "This is the only time the secret is shown" in html
    assert 'data-copy-target="new-signing-secret"' in html
    [endpoint] = _endpoints(app)
    assert app.extensions["webhook_endpoints"].current_secret(endpoint) == secret
    with merchant.session_transaction() as session:
        assert secret not in repr(dict(session))

    listed = merchant.get(PAGE).get_data(as_text=True)
    assert URL in listed
    assert "Shop backend" in listed
    assert "All events" in listed
    assert "Active" in listed
    assert secret not in listed
    assert secret not in merchant.get(f"{PAGE}/{endpoint.endpoint_id}").get_data(as_text=True)


def test_chosen_event_types_are_what_the_endpoint_gets(app, merchant):
    response = _add(merchant, all_events="", event_types=["payment.completed", "refund.executed"])

    assert response.status_code == 200
    [endpoint] = _endpoints(app)
    assert sorted(endpoint.event_types) == ["payment.completed", "refund.executed"]
    assert "payment.completed, refund.executed" in merchant.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "http://shop.example/in"}, "Use an https URL"),
        ({"url": f"https://{PRIVATE_TEST_HOST}/in"}, "This address points to a private network."),
        ({"all_events": ""}, "Choose at least one event type"),
        ({"description": "x" * 141}, "Use at most 140 characters."),
    ],
)
def test_a_bad_endpoint_shows_the_form_again_with_what_was_typed(app, merchant, fields, message):
    typed = {"description": "Invoicing", **fields}
    response = _add(merchant, **typed)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert message in html
    assert 'class="field-error"' in html
    for value in typed.values():
        if value:
            assert f'value="{value}"' in html
    assert _endpoints(app) == []


def test_loopback_is_refused_in_production(app):
    service = app.extensions["webhook_endpoints"]
    service._production = True
    with pytest.raises(Exception, match="private network"):
        service.add(ALICE, None, "https://localhost/in", "all")


def test_a_form_without_its_csrf_token_adds_nothing(app, merchant):
    response = merchant.post(PAGE, data={"url": URL, "all_events": "y"})

    assert response.status_code == 400
    assert _endpoints(app) == []


def test_roles_without_manage_webhooks_see_no_entry_and_get_403(app, client):
    sign_in(app.test_client())  # makes Alice's account
    person = _join(app, "alice@example.com", "vic@example.com", Role.VIEWER)
    sessions = app.extensions["sessions"]
    session_id = sessions.start(
        person, "alice@example.com", email="vic@example.com", auth_time=sessions.clock()
    )
    viewer = client
    with viewer.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id

    settings = viewer.get("/settings").get_data(as_text=True)

    assert 'href="/settings/webhooks"' not in settings
    assert viewer.get(PAGE).status_code == 403


def test_a_stale_sign_in_is_asked_to_confirm_and_adds_nothing(app):
    clock = FakeClock()
    app.extensions["sessions"].clock = clock
    merchant = sign_in(app.test_client())
    token = _token(merchant)
    clock.advance(minutes=6)

    page = merchant.get(PAGE).get_data(as_text=True)
    response = merchant.post(PAGE, data={"csrf_token": token, "url": URL, "all_events": "y"})

    assert "Confirm it's you" in page
    assert ">Add endpoint</button>" not in page
    assert response.status_code == 401
    assert _endpoints(app) == []


def test_another_accounts_endpoint_is_not_found(app, merchant):
    theirs = _an_endpoint(app, actor_for("bob@example.com"))
    token = _token(merchant)

    assert merchant.get(f"{PAGE}/{theirs.endpoint_id}").status_code == 404
    assert merchant.get(f"{PAGE}/{theirs.endpoint_id}/delete/confirm").status_code == 404
    for action in ("disable", "delete", "rotate-secret", "test"):
        posted = merchant.post(f"{PAGE}/{theirs.endpoint_id}/{action}", data={"csrf_token": token})
        assert posted.status_code == 404, action
    assert _endpoints(app, "bob@example.com") == [theirs]


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_for_a_day(app, merchant):
    endpoint = _an_endpoint(app)
    confirm = merchant.get(f"{PAGE}/{endpoint.endpoint_id}/rotate-secret/confirm")
    assert "keeps signing beside it for 24 hours" in confirm.get_data(as_text=True)

    response = merchant.post(
        f"{PAGE}/{endpoint.endpoint_id}/rotate-secret", data={"csrf_token": _token(merchant)}
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    new_secret = _SECRET.search(html).group(1)
    assert "The old secret keeps signing beside the new one for 24 hours" in html
    [rotated] = _endpoints(app)
    assert app.extensions["webhook_endpoints"].current_secret(rotated) == new_secret
    assert len(rotated.secrets) == 2


def test_a_merchant_disables_and_enables_an_endpoint(app, merchant):
    endpoint = _an_endpoint(app)
    token = _token(merchant)

    disabled = merchant.post(f"{PAGE}/{endpoint.endpoint_id}/disable", data={"csrf_token": token})
    page = merchant.get(f"{PAGE}/{endpoint.endpoint_id}").get_data(as_text=True)

    assert disabled.status_code == 303
    assert _endpoints(app)[0].status is EndpointStatus.DISABLED
    assert "Disabled" in page
    assert "Disabled by a member." in page
    assert ">Enable</button>" in page

    merchant.post(f"{PAGE}/{endpoint.endpoint_id}/enable", data={"csrf_token": token})
    assert _endpoints(app)[0].status is EndpointStatus.ACTIVE


def test_a_merchant_deletes_an_endpoint_after_confirming(app, merchant):
    endpoint = _an_endpoint(app)
    confirm = merchant.get(f"{PAGE}/{endpoint.endpoint_id}/delete/confirm")
    assert "This cannot be undone." in confirm.get_data(as_text=True)
    assert _endpoints(app) == [endpoint]  # showing the confirm page changes nothing

    response = merchant.post(
        f"{PAGE}/{endpoint.endpoint_id}/delete", data={"csrf_token": _token(merchant)}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    assert _endpoints(app) == []


def test_send_test_event_queues_one_and_the_log_shows_it(app, merchant):
    endpoint = _an_endpoint(app)

    response = merchant.post(
        f"{PAGE}/{endpoint.endpoint_id}/test", data={"csrf_token": _token(merchant)}
    )
    page = merchant.get(response.headers["Location"]).get_data(as_text=True)

    assert response.status_code == 303
    assert "Queued a test event" in page
    [delivery] = (
        app.extensions["deliveries"].log("alice@example.com", endpoint.endpoint_id).deliveries
    )
    assert delivery.event_type == TEST_EVENT_TYPE
    assert delivery.state is DeliveryState.PENDING
    assert TEST_EVENT_TYPE in page
    assert delivery.event_id in page
    assert "Retrying" in page
    assert f"/deliveries/{delivery.event_id}/resend" in page


def test_the_log_filters_by_state_and_event_type(app, merchant):
    endpoint = _an_endpoint(app)
    app.extensions["deliveries"].send_test(ALICE, endpoint.endpoint_id)
    base = f"{PAGE}/{endpoint.endpoint_id}"

    failed = merchant.get(f"{base}?state=failed").get_data(as_text=True)
    pending = merchant.get(f"{base}?state=pending&event_type={TEST_EVENT_TYPE}")
    paid = merchant.get(f"{base}?event_type=payment.completed").get_data(as_text=True)

    assert "No deliveries match these filters." in failed
    assert "webhook.test</code>" in pending.get_data(as_text=True)
    assert "No deliveries match these filters." in paid


def test_a_damaged_cursor_is_a_400(app, merchant):
    endpoint = _an_endpoint(app)

    assert merchant.get(f"{PAGE}/{endpoint.endpoint_id}?cursor=nonsense").status_code == 400


def test_resend_puts_the_delivery_back_in_the_queue(app, merchant):
    endpoint = _an_endpoint(app)
    delivery = app.extensions["deliveries"].send_test(ALICE, endpoint.endpoint_id)

    response = merchant.post(
        f"{PAGE}/{endpoint.endpoint_id}/deliveries/{delivery.event_id}/resend",
        data={"csrf_token": _token(merchant)},
    )
    assert response.status_code == 303
    assert "to be sent again" in merchant.get(response.headers["Location"]).get_data(as_text=True)
    [resent] = (
        app.extensions["deliveries"].log("alice@example.com", endpoint.endpoint_id).deliveries
    )
    assert resent.started_at is not None  # resent: its schedule starts again now

    unknown = merchant.post(
        f"{PAGE}/{endpoint.endpoint_id}/deliveries/not-an-event/resend",
        data={"csrf_token": _token(merchant)},
    )
    assert unknown.status_code == 404


def test_each_delivery_expands_to_its_attempts_with_the_answer_in_a_labelled_pre(app, merchant):
    with app.app_context(), running_receiver() as receiver:
        receiver.answer = answer_with(503, b"busy, try later")
        endpoint = app.extensions["webhook_endpoints"].add(ALICE, None, receiver.url(), "all")[0]
        app.extensions["deliveries"].send_test(ALICE, endpoint.endpoint_id)
        app.extensions["delivery_worker"].run_once()

    page = merchant.get(f"{PAGE}/{endpoint.endpoint_id}").get_data(as_text=True)

    assert "Attempt 1" in page
    assert "HTTP 503" in page
    assert "The endpoint answered 503." in page
    assert re.search(
        r'<pre class="response-excerpt" tabindex="0" role="region"\s+aria-label="Response of attempt 1, first 1 KB"><code>busy, try later</code></pre>',
        page,
    )
    assert "Next attempt" in page
