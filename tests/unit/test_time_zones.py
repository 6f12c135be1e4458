"""The account's time zone: which zones are offered, the setting, and times shown and typed in it.

Everything is stored in UTC; what is shown and what is typed is the account's local time, with
the zone's abbreviation and the exact UTC time on hover.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from dashboard.core.errors import InvalidInput
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction
from dashboard.domain.permissions import NotPermitted
from dashboard.domain.timezones import (
    DEFAULT_ZONE,
    NonexistentLocalTime,
    day_bounds,
    local_to_utc,
    offered_zones,
    zone_named,
)
from dashboard.services.payments import NewPaymentLink
from dashboard.store.audit import AuditFilter
from tests.conftest import actor_for
from tests.unit.conftest import csrf_token

ACCOUNT = "alice@example.com"
LONDON, PARIS = ZoneInfo("Europe/London"), ZoneInfo("Europe/Paris")


# -- the zones offered ----------------------------------------------------------------------


def test_the_uk_and_eu_zones_are_offered_and_part_hour_ones_are_not():
    zones = offered_zones()
    for name in ("Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Helsinki", "UTC"):
        assert name in zones
    # India is UTC+05:30; Lord Howe moves by half an hour for daylight saving.
    for name in ("Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "Etc/GMT+5"):
        assert name not in zones


def test_a_zone_that_was_part_hours_from_utc_since_2000_is_not_offered():
    """Date filters reach back to 2000: Caracas was UTC-04:30 from 2007 to 2016, Pyongyang
    UTC+08:30 from 2015 to 2018, Norfolk Island UTC+11:30 until 2015. Their local days then were
    not whole UTC hours, which the rollups are made of."""
    for name in ("America/Caracas", "Asia/Pyongyang", "Pacific/Norfolk"):
        assert name not in offered_zones()


def test_an_unknown_or_refused_zone_reads_as_the_default():
    assert zone_named("Asia/Kolkata").key == DEFAULT_ZONE
    assert zone_named("Not/AZone").key == DEFAULT_ZONE
    assert zone_named(None).key == DEFAULT_ZONE
    assert zone_named("Europe/Paris").key == "Europe/Paris"


def test_a_local_day_is_23_or_25_hours_on_the_days_the_clocks_change():
    spring = day_bounds(date(2026, 3, 29), date(2026, 3, 29), LONDON)
    autumn = day_bounds(date(2026, 10, 25), date(2026, 10, 25), LONDON)
    ordinary = day_bounds(date(2026, 6, 1), date(2026, 6, 1), PARIS)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert ordinary == (datetime(2026, 5, 31, 22, tzinfo=UTC), datetime(2026, 6, 1, 22, tzinfo=UTC))


def test_a_local_time_in_a_daylight_saving_gap_is_refused_and_a_repeated_one_is_the_earlier():
    with pytest.raises(NonexistentLocalTime, match="does not exist in Europe/London"):
        local_to_utc(datetime(2026, 3, 29, 1, 30), LONDON)
    # 01:30 happens twice on 25 October 2026 in London: first at BST (00:30 UTC), then GMT.
    assert local_to_utc(datetime(2026, 10, 25, 1, 30), LONDON) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert local_to_utc(datetime(2026, 7, 1, 12, 0), PARIS) == datetime(2026, 7, 1, 10, tzinfo=UTC)


# -- the setting ----------------------------------------------------------------------------


def _save_zone(client: FlaskClient, zone: str):
    data = {"csrf_token": csrf_token(client), "account": ACCOUNT, "time_zone": zone}
    return client.post("/settings/time-zone", data=data)


def test_an_owner_sets_the_zone_and_every_member_reads_times_in_it(merchant, app):
    store = app.extensions["store"]
    bob = Person("iss", "bob")
    store.accounts.add_member(Membership(ACCOUNT, "Shop", bob, Role.VIEWER, email="bob@x.test"))

    response = _save_zone(merchant, "Europe/Paris")

    assert response.status_code == 303
    assert app.extensions["business"].profile(ACCOUNT).time_zone == "Europe/Paris"
    assert {m.time_zone for m in store.accounts.members_of(ACCOUNT)} == {"Europe/Paris"}
    html = merchant.get("/settings/business").get_data(as_text=True)
    assert '<option selected value="Europe/Paris">Paris (UTC+0' in html
    assert "Times are shown in Europe/Paris" in html


def test_the_change_of_zone_is_audited(merchant, app):
    _save_zone(merchant, "Europe/Berlin")

    page = app.extensions["store"].audit.newest_first(
        ACCOUNT, AuditFilter(action=AuditAction.SETTINGS_CHANGED), 10
    )
    (entry,) = page.entries
    assert (entry.before, entry.after) == (
        {"time zone": "Europe/London"},
        {"time zone": "Europe/Berlin"},
    )


def test_a_zone_not_offered_is_a_422_beside_the_field_and_nothing_is_written(merchant, app):
    response = _save_zone(merchant, "Asia/Kolkata")

    assert response.status_code == 422
    assert "Choose a time zone from the list." in response.get_data(as_text=True)
    assert app.extensions["business"].profile(ACCOUNT).time_zone == DEFAULT_ZONE


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.PAYMENTS_OPERATOR, Role.VIEWER])
def test_only_owners_and_admins_change_the_zone(app, role):
    actor = Actor.for_person(ACCOUNT, Person("iss", "someone"), role=role)
    with pytest.raises(NotPermitted):
        app.extensions["business"].set_time_zone(actor, "Europe/Paris")


def test_the_service_refuses_a_zone_not_offered(app, merchant):
    with app.app_context(), pytest.raises(InvalidInput):
        app.extensions["business"].set_time_zone(actor_for(ACCOUNT), "Asia/Kolkata")


def test_a_member_who_joins_later_gets_the_accounts_zone(app, merchant):
    invitations = app.extensions["invitations"]
    owner = actor_for(ACCOUNT)
    _, token = invitations.invite(owner, new_id(), "bob@example.com", Role.VIEWER)
    _save_zone(merchant, "Europe/Madrid")
    bob = Actor.for_person(ACCOUNT, Person(owner.person.issuer, "bob"), role=Role.VIEWER)

    joined = invitations.accept(bob, token, "bob@example.com", True, None)

    assert joined.time_zone == "Europe/Madrid"


# -- a new account starts in the browser's zone ---------------------------------------------


def test_a_first_sign_in_starts_the_account_in_the_browsers_zone(app):
    accounts = app.extensions["accounts"]
    issuer = app.extensions["settings"].oidc_issuer

    paris = accounts.open_at_sign_in(Person(issuer, "new-1"), "a@x.test", None, "Europe/Paris")
    india = accounts.open_at_sign_in(Person(issuer, "new-2"), "b@x.test", None, "Asia/Kolkata")
    unknown = accounts.open_at_sign_in(Person(issuer, "new-3"), "c@x.test", None, None)

    assert paris.time_zone == "Europe/Paris"
    assert app.extensions["business"].profile(paris.account_id).time_zone == "Europe/Paris"
    assert india.time_zone == unknown.time_zone == DEFAULT_ZONE


def test_the_sign_in_link_keeps_the_browsers_zone_for_the_callback(client):
    client.get("/login?tz=Europe/Rome")
    with client.session_transaction() as session:
        assert session["browser_time_zone"] == "Europe/Rome"
    client.get("/login?tz=Asia/Kolkata")  # not offered: forgotten, never stored
    with client.session_transaction() as session:
        assert session["browser_time_zone"] == "Europe/Rome"


# -- times shown and typed ------------------------------------------------------------------


def _a_payment(app):
    with app.app_context():
        return app.extensions["payment_service"].create_payment_link(
            actor_for(ACCOUNT), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 42")
        )


def test_times_show_in_the_zone_with_its_abbreviation_and_utc_on_hover(merchant, app):
    _save_zone(merchant, "Europe/Paris")
    payment = _a_payment(app)

    html = merchant.get(f"/payments/{payment.payment_id}").get_data(as_text=True)

    created = payment.created_at.astimezone(PARIS)
    abbreviation = created.tzname()
    assert abbreviation in ("CET", "CEST")
    utc = payment.created_at.astimezone(UTC)
    expected = (
        f'<time datetime="{utc.isoformat().replace("+00:00", "Z")}" '
        f'title="{utc:%-d %b %Y, %H:%M:%S} UTC">{created:%-d %b %Y, %H:%M} {abbreviation}</time>'
    )
    assert expected in html
    # The timeline gives seconds, so steps within one minute keep their order readable.
    timeline = html.split('id="payment-timeline"')[1]
    assert re.search(r">\d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d (CET|CEST)</time>", timeline)
    assert " UTC</time>" not in html


def test_the_expiry_is_typed_in_the_accounts_zone(merchant, app):
    _save_zone(merchant, "Europe/Paris")
    local = (datetime.now(PARIS) + timedelta(days=2)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    form = {
        "csrf_token": csrf_token(merchant),
        "account": ACCOUNT,
        "amount": "12.50",
        "currency": "GBP",
        "reference": "Invoice 7",
        "expires_at": local.strftime("%Y-%m-%dT%H:%M"),
    }
    page = merchant.get("/payments/new").get_data(as_text=True)
    form["payment_token"] = re.search(r'name="payment_token" type="hidden" value="([^"]+)"', page)[
        1
    ]
    assert "In your time zone, Europe/Paris." in page

    response = merchant.post("/payments/new", data=form)

    assert response.status_code == 303
    payment_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        stored = app.extensions["payment_service"].get_payment(ACCOUNT, payment_id)
    assert stored.expires_at == local.astimezone(UTC)
