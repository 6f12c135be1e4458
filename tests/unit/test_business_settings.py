"""Settings → Business and what payers see of it: the business name, support email and logo.

The logo is a PNG or JPEG that the app re-encodes, served by a digest that names no account,
with a fixed Content-Type and ``nosniff``; every payer page shows the business and links
nowhere into the dashboard; each change is written with its audit entry.
"""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from PIL import Image

from dashboard.core.errors import InvalidInput
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.audit import AuditAction
from dashboard.domain.permissions import NotPermitted
from dashboard.services.business import LogoUpload, reencode_logo
from dashboard.services.payments import NewPaymentLink
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.store.audit import AuditFilter
from tests.conftest import actor_for, csrf_token_from
from tests.unit.conftest import csrf_token

ACCOUNT = "alice@example.com"  # the account sign_in makes, named by its first person


def image_bytes(fmt: str, size: tuple[int, int] = (64, 64), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def _post(client: FlaskClient, **fields: object) -> object:
    data = {
        "csrf_token": csrf_token(client),
        "account": ACCOUNT,
        "business_name": "Ada's Bakery",
        "support_email": "help@adas.example",
        **fields,
    }
    return client.post("/settings/business", data=data, content_type="multipart/form-data")


def _logo_src(html: str) -> str:
    found = re.search(r'src="(/logos/[0-9a-f]{64}\.(?:png|jpeg))"', html)
    assert found, "the page shows the logo"
    return found.group(1)


def _payer_page(app):
    with app.app_context():
        return app.extensions["payment_service"].create_payment_link(
            actor_for(ACCOUNT), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 42")
        )


# -- the form -------------------------------------------------------------------------------


def test_an_owner_saves_the_business_name_and_support_email(merchant, app):
    response = _post(merchant)

    assert response.status_code == 303
    html = merchant.get("/settings/business").get_data(as_text=True)
    assert 'value="Ada&#39;s Bakery"' in html
    assert 'value="help@adas.example"' in html
    profile = app.extensions["business"].profile(ACCOUNT)
    assert (profile.name, profile.support_email) == ("Ada's Bakery", "help@adas.example")


def test_invalid_values_are_a_422_with_messages_beside_the_fields_and_the_values_kept(merchant):
    response = _post(merchant, business_name="   ", support_email="not an address")

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter the name payers know your business by." in html
    assert "Enter an email address like help@example.com." in html
    assert 'value="not an address"' in html
    assert 'aria-invalid="true"' in html


def test_a_refused_logo_keeps_the_name_and_email_typed(merchant, app):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

    response = _post(merchant, business_name="New name", logo=(io.BytesIO(svg), "logo.svg"))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Upload a PNG or JPEG image" in html
    assert 'value="New name"' in html
    assert app.extensions["business"].profile(ACCOUNT).name != "New name"


def test_the_business_name_is_the_accounts_name_in_the_header_and_on_its_members(merchant, app):
    store = app.extensions["store"]
    store.accounts.add_member(
        Membership(ACCOUNT, "old copy", Person("iss", "bob"), Role.VIEWER, email="bob@example.com")
    )

    _post(merchant)

    names = {m.account_name for m in store.accounts.members_of(ACCOUNT)}
    assert names == {"Ada's Bakery"}


def test_the_change_is_audited_with_what_changed(merchant, app):
    _post(merchant)

    page = app.extensions["store"].audit.newest_first(
        ACCOUNT, AuditFilter(action=AuditAction.SETTINGS_CHANGED), 10
    )
    (entry,) = page.entries
    assert entry.after["business name"] == "Ada's Bakery"
    assert entry.after["support email"] == "help@adas.example"
    assert entry.actor_label == ACCOUNT


# -- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.PAYMENTS_OPERATOR, Role.VIEWER])
def test_only_owners_and_admins_change_the_business_settings(app, role):
    actor = Actor.for_person(ACCOUNT, Person("iss", "someone"), role=role)

    with pytest.raises(NotPermitted):
        app.extensions["business"].update(actor, "Taken over", "", LogoUpload())


def test_a_viewer_sees_the_settings_without_a_form(app, merchant):
    store = app.extensions["store"]
    person = Person(app.extensions["settings"].oidc_issuer, "vera@example.com")
    store.accounts.add_member(Membership(ACCOUNT, "Shop", person, Role.VIEWER, email=person.sub))
    viewer = app.test_client()
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, ACCOUNT, email=person.sub, auth_time=sessions.clock())
    with viewer.session_transaction() as session:
        session[SESSION_ID_KEY] = session_id

    html = viewer.get("/settings/business").get_data(as_text=True)

    assert "Only an Owner or an Admin can change these." in html
    assert 'action="/settings/business"' not in html


# -- the logo -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpeg")])
def test_a_png_or_jpeg_logo_is_re_encoded_and_served_without_the_account_id(
    merchant, client, fmt, ext
):
    upload = image_bytes(fmt) + b"<script>trailing bytes</script>"

    assert _post(merchant, logo=(io.BytesIO(upload), f"logo.{ext}")).status_code == 303

    src = _logo_src(merchant.get("/settings/business").get_data(as_text=True))
    assert src.endswith(f".{ext}")
    assert ACCOUNT not in src
    assert "alice" not in src
    served = client.get(src)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == f"image/{ext}"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert b"<script>" not in served.data  # what is served is the app's own encoding
    assert Image.open(io.BytesIO(served.data)).format == fmt


def test_a_replaced_logo_gets_a_new_url_and_the_old_one_is_gone(merchant, client):
    _post(merchant, logo=(io.BytesIO(image_bytes("PNG")), "a.png"))
    first = _logo_src(merchant.get("/settings/business").get_data(as_text=True))

    _post(merchant, logo=(io.BytesIO(image_bytes("PNG", (32, 32))), "b.png"))
    second = _logo_src(merchant.get("/settings/business").get_data(as_text=True))

    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert client.get(second.replace(".png", ".jpeg")).status_code == 404


def test_removing_the_logo_stops_serving_it(merchant, client):
    _post(merchant, logo=(io.BytesIO(image_bytes("PNG")), "a.png"))
    src = _logo_src(merchant.get("/settings/business").get_data(as_text=True))

    _post(merchant, remove_logo="y")

    assert "/logos/" not in merchant.get("/settings/business").get_data(as_text=True)
    assert client.get(src).status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "PNG or JPEG"),
        (image_bytes("GIF"), "PNG or JPEG"),
        (image_bytes("PNG", (513, 40)), "513 × 40 pixels"),
        (b"\x89PNG" + b"0" * (100 * 1024), "larger than 100 KB"),
        (b"not an image", "PNG or JPEG"),
    ],
    ids=["svg", "gif", "too-wide", "too-large", "junk"],
)
def test_other_images_oversize_files_and_large_dimensions_are_refused(content, message):
    with pytest.raises(InvalidInput) as refused:
        reencode_logo(content)

    assert message in refused.value.errors["logo"]


def test_an_unknown_logo_is_not_found(client):
    assert client.get("/logos/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/logos/short.png").status_code == 404
    assert client.get("/logos/" + "0" * 64 + ".svg").status_code == 404


# -- payer pages ----------------------------------------------------------------------------


def _dashboard_links(html: str) -> list[str]:
    hrefs = re.findall(r'(?:href|action)="([^"]+)"', html)
    return [
        h
        for h in hrefs
        if not h.startswith(
            ("/static/", "/logos/", "/sandbox/links/", "mailto:", "http://localhost/sandbox/")
        )
        and h != "#content"  # the skip link: a place on the same page
    ]


def test_payer_pages_show_the_business_and_link_nowhere_into_the_dashboard(merchant, app):
    _post(merchant, logo=(io.BytesIO(image_bytes("PNG")), "a.png"))
    payment = _payer_page(app)
    payer = app.test_client()
    link_path = payment.link_url.removeprefix("http://localhost")

    for page in (payer.get(link_path), payer.get(f"/pay/{payment.payer_token}")):
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Ada&#39;s Bakery" in html
        assert re.search(r'<img src="/logos/[0-9a-f]{64}\.png"', html)
        assert '<a href="mailto:help@adas.example">help@adas.example</a>' in html
        assert _dashboard_links(html) == [], _dashboard_links(html)
        assert "Payment Dashboard" not in html
        assert "Times are shown in UTC" not in html


def test_a_signed_in_merchant_sees_no_dashboard_header_on_a_payer_page(merchant, app):
    payment = _payer_page(app)

    html = merchant.get(f"/pay/{payment.payer_token}").get_data(as_text=True)

    assert "Sign out" not in html
    assert 'href="/payments"' not in html


def test_a_payer_is_told_of_a_decline_in_their_own_words(merchant, app):
    payment = _payer_page(app)
    payer = app.test_client()
    link_path = payment.link_url.removeprefix("http://localhost")
    token = csrf_token_from(payer.get(link_path).get_data(as_text=True))
    back = payer.post(f"{link_path}/decline", data={"csrf_token": token})

    html = payer.get(back.headers["Location"].removeprefix("http://localhost")).get_data(
        as_text=True
    )
    assert "Your bank declined the payment." in html
    assert "The payer" not in html


def test_an_unknown_payer_link_leads_nowhere_into_the_dashboard(client):
    html = client.get("/pay/not-a-token").get_data(as_text=True)

    assert _dashboard_links(html) == []


def test_a_member_who_joins_after_a_rename_gets_the_new_name(app, merchant):
    invitations = app.extensions["invitations"]
    owner = actor_for(ACCOUNT)
    _, token = invitations.invite(owner, new_id(), "bob@example.com", Role.VIEWER)
    _post(merchant)  # renamed after the invitation was sent
    bob = Actor.for_person(ACCOUNT, Person(owner.person.issuer, "bob"), role=Role.VIEWER)

    joined = invitations.accept(bob, token, "bob@example.com", True, None)

    assert joined.account_name == "Ada's Bakery"
