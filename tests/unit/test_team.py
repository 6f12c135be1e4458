"""The Team page: invitations (accepted once, by the verified invited address, only by a POST),
role changes within each role's reach, removal, leaving, the last-owner rule (also when two
Owners demote each other at once), ownership transfer, and an audit entry with each change."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.app import create_app
from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.team import (
    CannotChangeOwnRole,
    LastOwner,
    TeamChangeForbidden,
    hash_invitation_token,
)
from dashboard.services.invitations import InvitationService
from dashboard.services.team import MemberNotFound, TeamService
from dashboard.store.dynamo import from_item
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.oidc_standin import CLIENT_ID, OidcStandIn

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


@pytest.fixture
def provider(httpserver) -> OidcStandIn:
    standin = OidcStandIn(httpserver)
    standin.install()
    return standin


@pytest.fixture
def app(provider: OidcStandIn):
    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "DYNAMODB_TABLE_PREFIX": "team-",
                "OIDC_ISSUER": provider.issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": "tests-secret",
            }
        )
        app.extensions["store"].ensure_tables()
        yield app


def _sign_in(
    app: Flask, provider: OidcStandIn, email: str, verified: bool = True, next_path: str = ""
) -> FlaskClient:
    provider.claims = {
        "sub": email,
        "email": email,
        "email_verified": verified,
        "name": None,
        "auth_time": int(time.time()),  # signed in just now: team changes need a recent sign-in
    }
    client = app.test_client()
    start = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    provider._nonce = query["nonce"][0]
    response = client.get(f"/callback?code=one-time-code&state={query['state'][0]}")
    assert response.status_code == 302, response.get_data(as_text=True)
    client.landing = response.headers["Location"]  # type: ignore[attr-defined]
    return client


def _person(app: Flask, email: str) -> Person:
    return Person(app.extensions["settings"].oidc_issuer, email)


def _own_account(app: Flask, email: str) -> Membership:
    [membership] = app.extensions["accounts"].accounts_of(_person(app, email))
    return membership


def _team(app: Flask) -> TeamService:
    return app.extensions["team"]


def _invitations(app: Flask) -> InvitationService:
    return app.extensions["invitations"]


def _actor(app: Flask, account_id: str, email: str) -> Actor:
    membership = app.extensions["accounts"].membership(_person(app, email), account_id)
    assert membership is not None
    return Actor.for_person(account_id, _person(app, email), membership.role)


def _role_in(app: Flask, account_id: str, email: str) -> Role | None:
    membership = app.extensions["accounts"].membership(_person(app, email), account_id)
    return membership.role if membership else None


def _form(page: str, action: str) -> dict[str, str]:
    """Return the hidden fields of the form that posts to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"no form posts to {action}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(1)):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attributes.get("type") == "hidden":
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return fields


def _invite(client: FlaskClient, email: str, role: Role = Role.VIEWER):
    """Send the Team page's invite form; return the response and the link's token (or None)."""
    fields = _form(
        client.get("/settings/team").get_data(as_text=True), "/settings/team/invitations"
    )
    response = client.post(
        "/settings/team/invitations", data={**fields, "email": email, "role": role.value}
    )
    link = re.search(r'value="http://[^"]*/invitations/([^"]+)"', response.get_data(as_text=True))
    return response, link.group(1) if link else None


def _accept(client: FlaskClient, token: str):
    page = client.get(f"/invitations/{token}").get_data(as_text=True)
    fields = _form(page, f"/invitations/{token}")
    return client.post(f"/invitations/{token}", data=fields)


def _join(app: Flask, account_id: str, email: str, role: Role) -> None:
    """Make ``email`` a member of the account with ``role``, through an accepted invitation."""
    owner = next(
        m for m in app.extensions["store"].accounts.members_of(account_id) if m.role is Role.OWNER
    )
    inviter = Actor.for_person(account_id, owner.person, Role.OWNER)
    _invitation, token = _invitations(app).invite(inviter, new_id(), email, role)
    person = _person(app, email)
    _invitations(app).accept(Actor.for_person(account_id, person), token, email, True, None)


def _switch(client: FlaskClient, account_id: str) -> None:
    fields = _form(client.get("/payments").get_data(as_text=True), "/accounts/switch")
    assert client.post("/accounts/switch", data={**fields, "account_id": account_id}).status == (
        "303 SEE OTHER"
    )


def _post_member_form(client: FlaskClient, action: str, member_email: str, **data: str):
    """Send the Team page's form to ``action`` for the member shown as ``member_email``."""
    page = client.get("/settings/team").get_data(as_text=True)
    forms = re.findall(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?</form>', page, re.S)
    fields = next(
        _form(form, action) for form in forms if f"member#{member_email}" in _member_marker(form)
    )
    return client.post(action, data={**fields, **data})


def _member_marker(form: str) -> str:
    key = re.search(r'name="member" value="([^"]+)"', form)
    return "member#" + html.unescape(key.group(1)).rpartition("#")[2] if key else ""


def _audit(app: Flask, account_id: str) -> list[dict]:
    store = app.extensions["store"]
    response = store.client.query(
        TableName=store.tables.audit,
        KeyConditionExpression="accountId = :account",
        ExpressionAttributeValues={":account": {"S": account_id}},
    )
    return [from_item(item) for item in response["Items"]]


@pytest.fixture
def alice(app, provider) -> FlaskClient:
    """Alice, signed in, the Owner of her own account."""
    return _sign_in(app, provider, ALICE)


@pytest.fixture
def account(app, alice) -> Membership:
    return _own_account(app, ALICE)


# -- invitations ------------------------------------------------------------------------------


def test_an_invited_person_accepts_and_works_in_the_account_with_the_invited_role(
    app, provider, alice, account
):
    response, token = _invite(alice, BOB, Role.VIEWER)
    assert response.status_code == 200
    assert token
    assert len(token) == 43
    assert "This is the only time the link is shown" in response.get_data(as_text=True)
    assert f'value="{BOB}"' not in response.get_data(as_text=True)  # the form starts afresh
    bob = _sign_in(app, provider, BOB)

    page = bob.get(f"/invitations/{token}").get_data(as_text=True)
    assert "Accept invitation" in page
    assert "alice@example.com invited <strong>bob@example.com</strong>" in page
    accepted = _accept(bob, token)

    assert accepted.status_code == 303
    assert accepted.headers["Location"] == "/payments"
    assert _role_in(app, account.account_id, BOB) is Role.VIEWER
    payments = bob.get("/payments").get_data(as_text=True)
    assert "you joined as a Viewer" in payments
    assert bob.get("/settings/team").get_data(as_text=True).count(BOB) >= 1
    audit = {entry["action"]: entry for entry in _audit(app, account.account_id)}
    assert audit["member.invited"]["actorLabel"] == ALICE
    assert audit["member.invited"]["after"] == {"email": BOB, "role": "Viewer"}
    assert audit["member.joined"]["actor"] == _person(app, BOB).key
    assert audit["member.joined"]["after"] == {"email": BOB, "role": "Viewer"}


def test_the_link_is_stored_only_as_a_hash(app, alice, account):
    _response, token = _invite(alice, BOB)
    store = app.extensions["store"]
    items = store.client.query(
        TableName=store.tables.accounts,
        KeyConditionExpression="accountId = :account",
        ExpressionAttributeValues={":account": {"S": account.account_id}},
    )["Items"]
    lookup = store.client.get_item(
        TableName=store.tables.lookups,
        Key={"lookupKey": {"S": f"invitation#{hash_invitation_token(token)}"}},
    )["Item"]

    assert token not in repr(items) + repr(lookup) + repr(_audit(app, account.account_id))
    assert token not in alice.get("/settings/team").get_data(as_text=True)  # shown once


def test_opening_the_link_does_not_accept_it(app, provider, alice, account):
    _response, token = _invite(alice, BOB)
    bob = _sign_in(app, provider, BOB)

    assert bob.get(f"/invitations/{token}").status_code == 200

    assert _role_in(app, account.account_id, BOB) is None


def test_signed_out_the_page_offers_a_sign_in_that_comes_back_to_it(app, provider, alice):
    _response, token = _invite(alice, BOB)
    page = app.test_client().get(f"/invitations/{token}").get_data(as_text=True)

    assert "Accept invitation" not in page
    assert f'href="/login?next=/invitations/{token}"' in page
    bob = _sign_in(app, provider, BOB, next_path=f"/invitations/{token}")
    assert bob.landing == f"/invitations/{token}"
    signed_out = app.test_client().post(f"/invitations/{token}")
    assert signed_out.status_code == 400  # no session, so no CSRF token: nothing accepted


def test_the_invited_address_matches_whatever_its_case(app, provider, alice, account):
    _response, token = _invite(alice, "Bob@Example.COM")
    bob = _sign_in(app, provider, BOB)

    assert _accept(bob, token).status_code == 303
    assert _role_in(app, account.account_id, BOB) is Role.VIEWER


def test_someone_signed_in_with_another_address_is_told_why_and_cannot_accept(
    app, provider, alice, account
):
    _response, token = _invite(alice, BOB)
    carol = _sign_in(app, provider, CAROL)

    page = carol.get(f"/invitations/{token}").get_data(as_text=True)
    assert (
        "You are signed in as carol@example.com, but this invitation is for bob@example.com" in page
    )
    assert "Accept invitation" not in page
    refused = carol.post(f"/invitations/{token}", data=_own_fields(carol))
    assert refused.status_code == 403
    assert "this invitation is for bob@example.com" in refused.get_data(as_text=True)
    assert _role_in(app, account.account_id, CAROL) is None


def test_an_unverified_address_cannot_accept(app, provider, alice, account):
    _response, token = _invite(alice, BOB)
    bob = _sign_in(app, provider, BOB, verified=False)

    page = bob.get(f"/invitations/{token}").get_data(as_text=True)
    assert "has not verified that bob@example.com is yours" in page
    refused = bob.post(f"/invitations/{token}", data=_own_fields(bob))

    assert refused.status_code == 403
    assert _role_in(app, account.account_id, BOB) is None


def test_an_invitation_works_once(app, provider, alice, account):
    _response, token = _invite(alice, BOB)
    bob = _sign_in(app, provider, BOB)
    fields = _form(bob.get(f"/invitations/{token}").get_data(as_text=True), f"/invitations/{token}")
    assert bob.post(f"/invitations/{token}", data=fields).status_code == 303
    _remove_via_service(app, account.account_id, BOB)

    again = bob.post(f"/invitations/{token}", data=_own_fields(bob))

    assert again.status_code == 409
    assert "already used" in again.get_data(as_text=True)
    assert _role_in(app, account.account_id, BOB) is None
    joined = [e for e in _audit(app, account.account_id) if e["action"] == "member.joined"]
    assert len(joined) == 1


def _own_fields(client: FlaskClient) -> dict[str, str]:
    """Return a CSRF token and the account field for a form of the client's current account."""
    # What every page carries for htmx (<body hx-headers>): the CSRF token and the account.
    page = client.get("/settings/team").get_data(as_text=True)
    headers = json.loads(re.search(r"<body hx-headers='([^']+)'>", page).group(1))
    return {"csrf_token": headers["X-CSRFToken"], "account": headers["X-Account"]}


def _remove_via_service(app: Flask, account_id: str, email: str) -> None:
    _team(app).remove_member(_actor(app, account_id, ALICE), _person(app, email).key)


def test_an_invitation_expires_after_ten_days(app, provider, alice, account, monkeypatch):
    _response, token = _invite(alice, BOB)
    bob = _sign_in(app, provider, BOB)
    later = utc_now() + timedelta(days=10, seconds=1)
    monkeypatch.setattr(_invitations(app), "clock", lambda: later)
    monkeypatch.setattr(_team(app), "clock", lambda: later)

    page = bob.get(f"/invitations/{token}").get_data(as_text=True)
    refused = bob.post(f"/invitations/{token}", data=_own_fields(bob))

    assert "This invitation has expired" in page
    assert refused.status_code == 409
    assert _role_in(app, account.account_id, BOB) is None
    assert BOB not in alice.get("/settings/team").get_data(as_text=True)  # no longer pending


def test_a_revoked_invitation_cannot_be_accepted(app, provider, alice, account):
    _response, token = _invite(alice, BOB)
    page = alice.get("/settings/team").get_data(as_text=True)
    [action] = re.findall(r'action="(/settings/team/invitations/[^"]+/revoke)"', page)

    revoked = alice.post(action, data=_form(page, action))
    bob = _sign_in(app, provider, BOB)
    refused = bob.post(f"/invitations/{token}", data=_own_fields(bob))

    assert revoked.status_code == 303
    assert "was revoked" in bob.get(f"/invitations/{token}").get_data(as_text=True)
    assert refused.status_code == 409
    assert _role_in(app, account.account_id, BOB) is None
    [entry] = [e for e in _audit(app, account.account_id) if e["action"] == "invitation.revoked"]
    assert entry["before"] == {"email": BOB, "role": "Viewer"}


def test_an_unknown_link_is_not_found(app):
    assert app.test_client().get("/invitations/not-a-token").status_code == 404


def test_sending_the_invite_form_twice_makes_one_invitation(app, alice, account):
    fields = _form(alice.get("/settings/team").get_data(as_text=True), "/settings/team/invitations")
    data = {**fields, "email": BOB, "role": "viewer"}

    first = alice.post("/settings/team/invitations", data=data)
    second = alice.post("/settings/team/invitations", data=data)

    assert first.status_code == 200
    assert second.status_code == 409
    assert "already created and its link shown once" in second.get_data(as_text=True)
    invitations = app.extensions["store"].team.invitations_of(account.account_id)
    assert [i.email for i in invitations] == [BOB]
    invited = [e for e in _audit(app, account.account_id) if e["action"] == "member.invited"]
    assert len(invited) == 1


def test_the_invite_form_shows_what_is_wrong_and_keeps_what_was_typed(app, alice, account):
    fields = _form(alice.get("/settings/team").get_data(as_text=True), "/settings/team/invitations")

    response = alice.post(
        "/settings/team/invitations", data={**fields, "email": "bob@", "role": "developer"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address such as name@example.com." in page
    assert 'value="bob@"' in page
    assert '<option selected value="developer">' in page
    assert app.extensions["store"].team.invitations_of(account.account_id) == []


def test_a_member_or_a_pending_invitee_is_not_invited_again(app, alice, account):
    _join(app, account.account_id, CAROL, Role.VIEWER)
    _invite(alice, BOB)

    member, _ = _invite(alice, CAROL)
    pending, _ = _invite(alice, BOB.upper())

    assert member.status_code == 422
    assert "carol@example.com is already a member" in member.get_data(as_text=True)
    assert pending.status_code == 422
    assert "has a pending invitation" in pending.get_data(as_text=True)


# -- roles ------------------------------------------------------------------------------------


@pytest.fixture
def team(app, provider, alice, account):
    """Alice (Owner) with Adam (Admin), Vera (Viewer) and Otto (Owner) in her account."""
    for email, role in (
        ("adam@example.com", Role.ADMIN),
        ("vera@example.com", Role.VIEWER),
        ("otto@example.com", Role.OWNER),
    ):
        _join(app, account.account_id, email, role)
    return account


def _signed_in_to(app, provider, email: str, account_id: str) -> FlaskClient:
    client = _sign_in(app, provider, email)
    if _own_account_id(app, email) != account_id:
        _switch(client, account_id)
    return client


def _own_account_id(app: Flask, email: str) -> str:
    person = _person(app, email)
    return app.extensions["store"].accounts.get_person(person).last_account_id


def test_an_admin_changes_a_role_below_owner_and_the_audit_log_says_so(app, provider, team):
    adam = _signed_in_to(app, provider, "adam@example.com", team.account_id)

    response = _post_member_form(
        adam, "/settings/team/members/role", "vera@example.com", role="payments_operator"
    )

    assert response.status_code == 303
    assert "vera@example.com is now a Payments operator." in adam.get("/settings/team").get_data(
        as_text=True
    )
    assert _role_in(app, team.account_id, "vera@example.com") is Role.PAYMENTS_OPERATOR
    [entry] = [e for e in _audit(app, team.account_id) if e["action"] == "member.role_changed"]
    assert entry["actorLabel"] == "adam@example.com"
    assert entry["targetId"] == _person(app, "vera@example.com").key
    assert entry["before"]["role"] == "Viewer"
    assert entry["after"]["role"] == "Payments operator"


def test_an_admin_neither_grants_nor_changes_owner(app, provider, team):
    adam = _signed_in_to(app, provider, "adam@example.com", team.account_id)
    page = adam.get("/settings/team").get_data(as_text=True)

    grant = _post_member_form(adam, "/settings/team/members/role", "vera@example.com", role="owner")
    with pytest.raises(TeamChangeForbidden):
        _team(app).change_role(
            _actor(app, team.account_id, "adam@example.com"), _person(app, ALICE).key, Role.ADMIN
        )

    assert '<option value="owner"' not in page
    assert "Transfer ownership" not in page
    assert grant.status_code == 403
    assert "Only an Owner can grant, change or remove the Owner role." in grant.get_data(
        as_text=True
    )
    assert _role_in(app, team.account_id, "vera@example.com") is Role.VIEWER
    assert _role_in(app, team.account_id, ALICE) is Role.OWNER


def test_nobody_changes_their_own_role_or_removes_themselves(app, team):
    for email in (ALICE, "adam@example.com"):
        actor = _actor(app, team.account_id, email)
        with pytest.raises(CannotChangeOwnRole):
            _team(app).change_role(actor, _person(app, email).key, Role.VIEWER)
        with pytest.raises(CannotChangeOwnRole):
            _team(app).remove_member(actor, _person(app, email).key)
    assert _role_in(app, team.account_id, "adam@example.com") is Role.ADMIN


def test_a_viewer_sees_the_members_read_only_and_is_refused_changes(app, provider, team):
    vera = _signed_in_to(app, provider, "vera@example.com", team.account_id)
    page = vera.get("/settings/team").get_data(as_text=True)

    assert "adam@example.com" in page
    assert "Admin" in page
    for action in ("members/role", "members/remove", "invitations", "transfer"):
        assert f'action="/settings/team/{action}"' not in page
    assert "Leave account" in page
    refused = vera.post(
        "/settings/team/members/role",
        data={
            **_own_fields(vera),
            "member": _person(app, "adam@example.com").key,
            "role": "viewer",
        },
    )
    assert refused.status_code == 403
    assert _role_in(app, team.account_id, "adam@example.com") is Role.ADMIN
    invite = vera.post(
        "/settings/team/invitations", data={**_own_fields(vera), "email": BOB, "role": "viewer"}
    )
    assert invite.status_code in (403, 422)
    assert [
        i.email for i in _team(app).team_of(_actor(app, team.account_id, ALICE)).invitations
    ] == []


# -- the last Owner ---------------------------------------------------------------------------


def test_the_last_owner_cannot_leave_and_is_not_offered_to(app, alice, account):
    page = alice.get("/settings/team").get_data(as_text=True)
    assert 'action="/settings/team/leave"' not in page
    assert "The last Owner cannot leave" in page

    refused = alice.post("/settings/team/leave", data=_own_fields(alice))

    assert refused.status_code == 409
    assert "Every account needs at least one Owner" in refused.get_data(as_text=True)
    assert _role_in(app, account.account_id, ALICE) is Role.OWNER


def test_an_owner_demotes_another_owner_while_one_remains(app, team):
    _team(app).change_role(
        _actor(app, team.account_id, ALICE), _person(app, "otto@example.com").key, Role.ADMIN
    )

    assert _role_in(app, team.account_id, "otto@example.com") is Role.ADMIN
    with pytest.raises(TeamChangeForbidden):  # Otto is no longer an Owner
        _team(app).change_role(
            Actor.for_person(team.account_id, _person(app, "otto@example.com"), Role.ADMIN),
            _person(app, ALICE).key,
            Role.ADMIN,
        )


def test_two_owners_demoting_each_other_at_once_leave_one_owner(app, team, monkeypatch):
    accounts = app.extensions["store"].accounts
    before = accounts.members_of(team.account_id)  # both requests read both as Owners
    alice = _actor(app, team.account_id, ALICE)
    otto = _actor(app, team.account_id, "otto@example.com")

    _team(app).change_role(alice, _person(app, "otto@example.com").key, Role.ADMIN)
    monkeypatch.setattr(accounts, "members_of", lambda _account_id: before)
    with pytest.raises(LastOwner):
        _team(app).change_role(otto, _person(app, ALICE).key, Role.ADMIN)

    monkeypatch.undo()
    owners = [m for m in _members(app, team.account_id) if m.role is Role.OWNER]
    assert [m.person for m in owners] == [_person(app, ALICE)]
    changed = [e for e in _audit(app, team.account_id) if e["action"] == "member.role_changed"]
    assert len(changed) == 1  # the refused change wrote no entry


def test_two_owners_leaving_at_once_leave_one_owner(app, team, monkeypatch):
    accounts = app.extensions["store"].accounts
    before = accounts.members_of(team.account_id)

    _team(app).leave(_actor(app, team.account_id, ALICE))
    monkeypatch.setattr(accounts, "members_of", lambda _account_id: before)
    with pytest.raises(LastOwner):
        _team(app).leave(_actor(app, team.account_id, "otto@example.com"))

    monkeypatch.undo()
    owners = [m for m in _members(app, team.account_id) if m.role is Role.OWNER]
    assert [m.person for m in owners] == [_person(app, "otto@example.com")]


def test_an_owner_removing_an_owner_who_demotes_them_at_once_is_refused(app, team, monkeypatch):
    accounts = app.extensions["store"].accounts
    before = accounts.members_of(team.account_id)
    alice = _actor(app, team.account_id, ALICE)  # both requests began while both were Owners

    _team(app).change_role(
        _actor(app, team.account_id, "otto@example.com"), _person(app, ALICE).key, Role.ADMIN
    )
    monkeypatch.setattr(accounts, "members_of", lambda _account_id: before)
    with pytest.raises(LastOwner):
        _team(app).remove_member(alice, _person(app, "otto@example.com").key)

    monkeypatch.undo()
    assert _role_in(app, team.account_id, "otto@example.com") is Role.OWNER


def _members(app: Flask, account_id: str) -> list[Membership]:
    return app.extensions["store"].accounts.members_of(account_id)


# -- transfer, removal, leaving ---------------------------------------------------------------


def test_an_owner_transfers_ownership_and_becomes_an_admin(app, provider, alice, account):
    _join(app, account.account_id, "adam@example.com", Role.ADMIN)
    page = alice.get("/settings/team").get_data(as_text=True)
    fields = _form(page, "/settings/team/transfer")

    response = alice.post(
        "/settings/team/transfer",
        data={**fields, "member": _person(app, "adam@example.com").key},
    )

    assert response.status_code == 303
    assert _role_in(app, account.account_id, "adam@example.com") is Role.OWNER
    assert _role_in(app, account.account_id, ALICE) is Role.ADMIN
    after = alice.get("/settings/team").get_data(as_text=True)
    assert "adam@example.com is now an Owner, and you are an Admin." in after
    assert 'action="/settings/team/transfer"' not in after  # an Admin transfers nothing
    [entry] = [e for e in _audit(app, account.account_id) if e["action"] == "ownership.transferred"]
    assert entry["before"] == {"owner": ALICE, "new_owner_role": "Admin"}
    assert entry["after"] == {"owner": "adam@example.com", "previous_owner_role": "Admin"}


def test_only_an_owner_transfers_ownership(app, team):
    with pytest.raises(TeamChangeForbidden):
        _team(app).transfer_ownership(
            _actor(app, team.account_id, "adam@example.com"), _person(app, "vera@example.com").key
        )
    assert _role_in(app, team.account_id, "vera@example.com") is Role.VIEWER


def test_a_removed_member_no_longer_sees_the_account_at_their_next_request(
    app, provider, alice, account
):
    _join(app, account.account_id, BOB, Role.VIEWER)
    bob = _signed_in_to(app, provider, BOB, account.account_id)
    assert bob.get("/settings/team").get_data(as_text=True).count(ALICE) >= 1

    removed = _post_member_form(alice, "/settings/team/members/remove", BOB)

    assert removed.status_code == 303
    assert _role_in(app, account.account_id, BOB) is None
    team_page = bob.get("/settings/team").get_data(as_text=True)
    assert ALICE not in team_page  # his session moved to his own account
    [entry] = [e for e in _audit(app, account.account_id) if e["action"] == "member.removed"]
    assert entry["actorLabel"] == ALICE
    assert entry["before"] == {"email": BOB, "role": "Viewer"}


def test_a_member_leaves_the_account(app, provider, alice, account):
    _join(app, account.account_id, BOB, Role.DEVELOPER)
    bob = _signed_in_to(app, provider, BOB, account.account_id)

    response = bob.post("/settings/team/leave", data=_own_fields(bob))

    assert response.status_code == 303
    assert _role_in(app, account.account_id, BOB) is None
    assert f"You left {account.account_name}." in bob.get("/payments").get_data(as_text=True)
    [entry] = [e for e in _audit(app, account.account_id) if e["action"] == "member.removed"]
    assert entry["actor"] == _person(app, BOB).key


def test_the_team_page_lists_members_with_role_email_and_last_sign_in(app, provider, team):
    page = _signed_in_to(app, provider, ALICE, team.account_id).get("/settings/team")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    for email in (ALICE, "adam@example.com", "vera@example.com", "otto@example.com"):
        assert email in text
    assert text.index(ALICE) < text.index("adam@example.com") < text.index("vera@example.com")
    assert text.count("<time datetime=") >= 1  # Alice signed in; the others never did
    assert "never" in text
    assert 'aria-current="page">Team</a>' in text


def test_every_team_form_names_its_account(app, provider, team):
    _invite(_signed_in_to(app, provider, ALICE, team.account_id), BOB)
    alice = _signed_in_to(app, provider, ALICE, team.account_id)
    page = alice.get("/settings/team").get_data(as_text=True)

    forms = re.findall(r'<form[^>]*method="post"[^>]*>.*?</form>', page, re.S)
    team_forms = [form for form in forms if 'action="/settings/team' in form]
    assert len(team_forms) >= 8  # role and remove for three members, invite, revoke, transfer
    for form in team_forms:
        assert f'name="account" value="{team.account_id}"' in form


def test_a_service_call_by_an_actor_of_another_account_touches_nothing(app, team):
    stranger = actor_for("someone-else")
    with pytest.raises(MemberNotFound):
        _team(app).remove_member(stranger, _person(app, "vera@example.com").key)
    assert _role_in(app, team.account_id, "vera@example.com") is Role.VIEWER
