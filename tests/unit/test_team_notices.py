"""Team notices on moto: each member chooses what they are emailed about (Settings →
Notifications), and the delivery worker emails those who asked, one email each, in the fan-out
of the event (or when it disables an endpoint). The mail server is a recording sender."""

from __future__ import annotations

import dataclasses

import pytest

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction
from dashboard.domain.deliveries import Delivery, DeliveryState
from dashboard.domain.emails import EmailKind
from dashboard.domain.notifications import Notice, NoticeNotAllowed, member_target
from dashboard.services.deliveries import DISABLED_FOR_FAILURES
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.store.audit import AuditFilter
from tests.conftest import TEST_ISSUER
from tests.unit.conftest import csrf_token
from tests.unit.test_payment_emails import ALICE, MailServer, RunningClock
from tests.unit.test_payment_service import a_request

ACCOUNT = "alice@example.com"


@pytest.fixture
def mail() -> MailServer:
    return MailServer()


@pytest.fixture
def clock() -> RunningClock:
    return RunningClock()


@pytest.fixture
def worker(app, mail, clock):
    base = app.extensions["delivery_worker"]
    return dataclasses.replace(
        base, send_email=mail, clock=clock, jitter=lambda: 0.0, threads=1
    )  # moto is not thread-safe


def member(app, name: str, role: Role) -> Actor:
    """Add ``name``@example.com to Alice's account with ``role``; return them as an actor."""
    person = Person(TEST_ISSUER, f"{name}@example.com")
    app.extensions["store"].accounts.add_member(
        Membership(ACCOUNT, "Shop", person, role, email=person.sub)
    )
    return Actor.for_person(ACCOUNT, person, role=role)


def signed_in_alice(app) -> Actor:
    """Alice as her browser session is: a person of the app's sign-in issuer."""
    issuer = app.extensions["settings"].oidc_issuer
    return Actor.for_person(ACCOUNT, Person(issuer, ACCOUNT))


def choose(app, actor: Actor, *notices: Notice) -> None:
    app.extensions["team"].set_notices(actor, [n.value for n in notices])


def pay(app, **request):
    with app.app_context():
        service = app.extensions["payment_service"]
        payment = service.create_payment_link(ALICE, a_request(reference="Invoice 42", **request))
        for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
            service.apply_provider_event(event)
        return payment


def test_a_member_who_asked_is_emailed_when_a_payment_completes_and_one_who_did_not_is_not(
    app, merchant, worker, mail
):
    bob = member(app, "bob", Role.VIEWER)
    member(app, "carol", Role.VIEWER)
    choose(app, bob, Notice.PAYMENT_COMPLETED)

    payment = pay(app)
    with app.app_context():
        worker.run_once()
        worker.run_once()

    (email,) = [e for e, _ in mail.sent if e.kind is EmailKind.NOTICE_PAYMENT_COMPLETED]
    assert email.to == "bob@example.com"
    assert email.subject == f"{ACCOUNT}: £12.50 received"
    assert "Invoice 42" in email.text
    link = f"{app.extensions['settings'].public_base_url}/payments/{payment.payment_id}"
    assert link in email.text
    assert f'href="{link}"' in email.html
    assert "Settings → Notifications" in email.text
    # Nobody else got one: Carol chose nothing, and Alice (no choice made) has all off.
    assert [e.to for e, _ in mail.sent if e.kind.value.startswith("email.notice.")] == [
        "bob@example.com"
    ]


def test_a_notice_is_not_listed_among_the_emails_to_the_payer(app, merchant, worker, mail):
    bob = member(app, "bob", Role.VIEWER)
    choose(app, bob, Notice.PAYMENT_COMPLETED)

    payment = pay(app)
    with app.app_context():
        worker.run_once()
        worker.run_once()

    emails = app.extensions["payment_emails"].emails_of(ACCOUNT, payment.payment_id)
    assert EmailKind.NOTICE_PAYMENT_COMPLETED.value not in {e.event_type for e in emails}
    (notice,) = app.extensions["store"].deliveries.for_target(ACCOUNT, member_target(bob.person))
    assert notice.state is DeliveryState.DELIVERED


def test_a_notice_send_is_audited_on_the_payment(app, merchant, worker, mail):
    bob = member(app, "bob", Role.VIEWER)
    choose(app, bob, Notice.PAYMENT_COMPLETED)

    payment = pay(app)
    with app.app_context():
        worker.run_once()
        worker.run_once()

    page = app.extensions["store"].audit.newest_first(
        ACCOUNT, AuditFilter(action=AuditAction.EMAIL_SENT), 10
    )
    (entry,) = [e for e in page.entries if e.after["to"] == "bob@example.com"]
    assert (entry.target_type, entry.target_id) == ("payment", payment.payment_id)


def test_a_retried_fan_out_makes_one_notice_per_member(app, merchant, worker, mail):
    bob = member(app, "bob", Role.VIEWER)
    choose(app, bob, Notice.PAYMENT_COMPLETED)
    pay(app)
    store = app.extensions["store"]
    waiting = [e for s in range(4) for e in store.deliveries.waiting_events(str(s), 25)]

    with app.app_context():
        # Two workers fan the same events out at once: one transaction wins, the other writes
        # nothing.
        for account_id, event_id in waiting:
            worker._fan_out(account_id, event_id)
            worker._fan_out(account_id, event_id)
        worker.run_once()

    assert len(store.deliveries.for_target(ACCOUNT, member_target(bob.person))) == 1
    assert [e.to for e, _ in mail.sent if e.kind is EmailKind.NOTICE_PAYMENT_COMPLETED] == [
        "bob@example.com"
    ]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.PAYMENTS_OPERATOR, Role.VIEWER])
def test_only_owners_and_admins_may_ask_about_disabled_endpoints(app, merchant, role):
    someone = member(app, "dev", role)

    with pytest.raises(NoticeNotAllowed):
        choose(app, someone, Notice.ENDPOINT_DISABLED)

    available, chosen = app.extensions["team"].notices_of(someone)
    assert Notice.ENDPOINT_DISABLED not in available
    assert chosen == frozenset()


def test_the_choice_is_stored_and_audited(app, merchant):
    admin = member(app, "ada", Role.ADMIN)

    choose(app, admin, Notice.ENDPOINT_DISABLED, Notice.REFUND)
    choose(app, admin, Notice.REFUND)

    _, chosen = app.extensions["team"].notices_of(admin)
    assert chosen == {Notice.REFUND}
    page = app.extensions["store"].audit.newest_first(
        ACCOUNT, AuditFilter(action=AuditAction.NOTIFICATIONS_CHANGED), 10
    )
    newest = page.entries[0]
    assert newest.after["notices"] == Notice.REFUND.label
    assert newest.target_label == "ada@example.com"


def test_owners_and_admins_who_asked_are_told_when_an_endpoint_is_disabled(
    app, merchant, worker, mail
):
    admin = member(app, "ada", Role.ADMIN)
    choose(app, admin, Notice.ENDPOINT_DISABLED)
    endpoints = app.extensions["webhook_endpoints"]
    endpoint, _ = endpoints.add(ALICE, None, "http://127.0.0.1:9/hooks", "all")
    failed = Delivery(
        account_id=ACCOUNT,
        endpoint_id=endpoint.endpoint_id,
        event_id=new_id(),
        event_type="payment.completed",
        state=DeliveryState.FAILED,
        created_at=utc_now(),
        next_attempt_at=None,
    )

    with app.app_context():
        worker._disable_if_failing(endpoint, failed)
        worker._disable_if_failing(endpoint, failed)  # a second worker: no second notice
        worker.run_once()

    (email,) = [e for e, _ in mail.sent if e.kind is EmailKind.NOTICE_ENDPOINT_DISABLED]
    assert email.to == "ada@example.com"
    assert "http://127.0.0.1:9/hooks" in email.text
    assert DISABLED_FOR_FAILURES in email.text
    assert f"/settings/webhooks/{endpoint.endpoint_id}" in email.html
    assert endpoints.get(ACCOUNT, endpoint.endpoint_id).disabled_reason == DISABLED_FOR_FAILURES


# -- the page ---------------------------------------------------------------------------------


def test_a_member_sets_their_own_notifications_on_the_page(app, merchant):
    page = merchant.get("/settings/notifications").get_data(as_text=True)
    assert "Email me when" in page
    assert 'value="endpoint_disabled"' in page  # Alice is an Owner
    assert "checked" not in page  # all off until chosen

    response = merchant.post(
        "/settings/notifications",
        data={
            "csrf_token": csrf_token(merchant),
            "account": ACCOUNT,
            "notices": ["payment_completed", "endpoint_disabled"],
        },
    )

    assert response.status_code == 303
    _, chosen = app.extensions["team"].notices_of(signed_in_alice(app))
    assert chosen == {Notice.PAYMENT_COMPLETED, Notice.ENDPOINT_DISABLED}
    page = merchant.get("/settings/notifications").get_data(as_text=True)
    assert page.count("checked") == 2


def test_a_viewer_is_not_offered_the_endpoint_notice_and_cannot_post_it(app, merchant):
    vera = member(app, "vera", Role.VIEWER)
    viewer = app.test_client()
    sessions = app.extensions["sessions"]
    session_id = sessions.start(
        vera.person, ACCOUNT, email=vera.person.sub, auth_time=sessions.clock()
    )
    with viewer.session_transaction() as session:
        session[SESSION_ID_KEY] = session_id

    page = viewer.get("/settings/notifications").get_data(as_text=True)
    assert 'value="endpoint_disabled"' not in page
    response = viewer.post(
        "/settings/notifications",
        data={"csrf_token": csrf_token(viewer), "account": ACCOUNT, "notices": "endpoint_disabled"},
    )

    assert response.status_code == 403
    assert app.extensions["team"].notices_of(vera)[1] == frozenset()


def test_a_post_without_csrf_is_refused(app, merchant):
    response = merchant.post(
        "/settings/notifications", data={"account": ACCOUNT, "notices": "payment_completed"}
    )

    assert response.status_code == 400
    assert app.extensions["team"].notices_of(signed_in_alice(app))[1] == frozenset()
