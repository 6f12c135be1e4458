"""Who is acting: resolved once per request from the session or the API key, read by routes."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import g

from dashboard.domain.actor import Actor, Channel, Person, Role
from dashboard.domain.api_keys import KeyScope
from tests.unit.api_support import ALICE, BOB, api_key_for, bearer
from tests.unit.conftest import sign_in

WEB = Path(__file__).resolve().parents[2] / "dashboard" / "web"
RESOLVER = WEB / "actor.py"


def _actor_of_last_request():
    return g.actor_resolution.actor


def test_a_signed_in_merchant_acts_as_a_person_in_its_own_account(app, client):
    sign_in(client, ALICE)

    with client:
        assert client.get("/payments").status_code == 200
        actor = _actor_of_last_request()

    issuer = app.extensions["settings"].oidc_issuer
    assert actor == Actor(
        ALICE,
        Channel.BROWSER,
        person=Person(issuer, ALICE),
        role=Role.OWNER,
        label=ALICE,  # the session's email, for the audit log
        ip_address="127.0.0.1",
        time_zone="Europe/London",  # a new account starts in the default zone
    )
    assert actor.api_key_id is None
    assert actor.uses_session


def test_an_api_key_acts_for_its_merchants_account_and_names_the_key(app, client):
    key = api_key_for(app, BOB)
    key_id = app.extensions["api_keys"].list_keys(BOB)[0].key_id

    with client:
        assert client.get("/api/v1/payments", headers=bearer(key)).status_code == 200
        actor = _actor_of_last_request()

    assert actor == Actor(
        BOB,
        Channel.API,
        api_key_id=key_id,
        role=Role.OWNER,
        key_scope=KeyScope.FULL,
        label="Shop",  # the key's name, for the audit log
        ip_address="127.0.0.1",
    )
    assert actor.person is None
    assert not actor.uses_session


def test_a_refused_key_is_no_actor_even_with_a_signed_in_session(client):
    sign_in(client, ALICE)

    with client:
        response = client.get("/api/v1/payments", headers=bearer("pdk_nope_nope"))
        resolution = g.actor_resolution

    assert response.status_code == 401
    assert resolution.actor is None
    assert "unknown or revoked" in (resolution.refusal or "")


def test_the_system_actor_is_nobody_signed_in():
    actor = Actor.system()

    assert actor.channel is Channel.SYSTEM
    assert actor.person is None
    assert actor.api_key_id is None


def test_who_acts_is_the_person_with_their_issuer_or_the_key_and_nobody_for_the_rest():
    person = Person("https://id.example.com/", "auth0|alice")

    assert Actor.for_person(ALICE, person).who == "https://id.example.com/#auth0|alice"
    assert Actor.for_api_key(ALICE, "AbCdEf123456").who == "AbCdEf123456"
    assert Actor.for_webhook(ALICE).who is None
    assert Actor.system(ALICE).who is None


IDENTITY_ATTRIBUTES = {"sub", "person", "account_id", "role", "_get_current_object"}


def _identity_reads(path: Path) -> list[str]:
    """Return each read of who is signed in (``current_user``'s person, account or role, the
    user object itself, or ``current_caller()``) in a module."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if named and node.value.id == "current_user" and node.attr in IDENTITY_ATTRIBUTES:
            reads.append(f"{path.name}:{node.lineno} current_user.{node.attr}")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "current_caller":
            reads.append(f"{path.name}:{node.lineno} current_caller()")
    return reads


def test_no_route_reads_who_is_signed_in_except_through_the_actor():
    modules = [path for path in WEB.rglob("*.py") if path != RESOLVER]
    assert len(modules) > 20  # the walk found the web layer

    reads = [read for path in modules for read in _identity_reads(path)]

    assert reads == []
    assert _identity_reads(RESOLVER)  # the one place that does read it
