"""The Settings page: a merchant creates an API key, sees it once, and revokes it."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.services.api_keys import MAX_ACTIVE_KEYS, ApiKeyService
from tests.conftest import actor_for, csrf_token_from
from tests.unit.conftest import sign_in

_SHOWN_KEY = re.compile(
    r'id="new-api-key"[^>]*value="(pdk_[^"]+)"|value="(pdk_[^"]+)"[^>]*id="new-api-key"'
)


@pytest.fixture
def api_keys(app: Flask) -> ApiKeyService:
    """The app's own API key service."""
    return app.extensions["api_keys"]


_KEY_TOKEN = re.compile(r'name="key_token" type="hidden" value="([^"]+)"')


def _settings_token(client: FlaskClient) -> str:
    return csrf_token_from(client.get("/settings").get_data(as_text=True))


def _create_form(client: FlaskClient, name: str) -> dict[str, str]:
    """Return what the create form on the Settings page sends, its hidden fields included."""
    html = client.get("/settings").get_data(as_text=True)
    match = _KEY_TOKEN.search(html)
    assert match, "the create form carries no key id"
    return {"csrf_token": csrf_token_from(html), "key_token": match.group(1), "name": name}


def _create(client: FlaskClient, name: str):
    return client.post("/settings/api-keys", data=_create_form(client, name))


def _shown_key(html: str) -> str:
    match = _SHOWN_KEY.search(html)
    assert match, "the page shows no API key"
    return match.group(1) or match.group(2)


def test_a_merchant_without_keys_learns_what_they_are_for(merchant):
    response = merchant.get("/settings")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<h1>Settings</h1>" in html
    assert "API keys" in html
    assert "No API keys yet" in html
    assert "through the JSON API" in html
    assert 'href="/api/v1/docs"' in html
    assert ">Create API key</button>" in html
    assert re.search(r'href="/settings"\s+aria-current="page">Settings</a>', html)


def test_a_created_key_is_shown_once_and_then_only_by_its_prefix(merchant, api_keys):
    response = _create(merchant, "Web shop")
    html = response.get_data(as_text=True)
    full_key = _shown_key(html)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "This is the only time the key is shown" in html
    assert 'data-copy-target="new-api-key">Copy key</button>' in html
    assert "curl http://localhost/api/v1/payments" in html
    assert f"Authorization: Bearer {full_key}" in html
    with merchant.session_transaction() as session:
        assert full_key not in repr(dict(session))  # never in the cookie, flashes included
    principal = api_keys.authenticate(full_key)
    assert principal is not None
    assert principal.user_id == "alice@example.com"

    listed = merchant.get("/settings").get_data(as_text=True)
    key_id = principal.key_id
    assert "Web shop" in listed
    assert f"pdk_{key_id}_…" in listed
    assert full_key not in listed
    # pdk_<keyId>_<secret>: the secret (which may itself hold "_") is everything after the id.
    assert full_key.split("_", 2)[2] not in listed
    assert "No API keys yet" not in listed
    assert "Active" in listed


def test_a_key_created_on_the_page_names_the_signed_in_person(app, merchant, api_keys):
    assert _create(merchant, "Web shop").status_code == 200

    [key] = api_keys.list_keys("alice@example.com")
    issuer = app.extensions["settings"].oidc_issuer
    assert key.created_by == f"{issuer}#alice@example.com"


def test_reloading_the_created_page_does_not_create_a_second_key(merchant, api_keys):
    form = _create_form(merchant, "Web shop")
    full_key = _shown_key(merchant.post("/settings/api-keys", data=form).get_data(as_text=True))

    # A reload of the "API key created" page sends the same form again.
    again = merchant.post("/settings/api-keys", data=form)
    html = again.get_data(as_text=True)

    assert again.status_code == 409
    assert (
        "This key was already created and shown once. If you did not copy it, revoke it and "
        "create another." in html
    )
    assert full_key not in html
    assert "This is the only time" not in html
    assert [k.name for k in api_keys.list_keys("alice@example.com")] == ["Web shop"]
    assert f"pdk_{full_key.split('_')[1]}_…" in html  # listed, with its Revoke button
    # The form on that page is a fresh one: it makes a new key.
    assert _create(merchant, "Web shop 2").status_code == 200
    assert len(api_keys.list_keys("alice@example.com")) == 2


@pytest.mark.parametrize("token", ["", "forged", "other-merchant"])
def test_a_form_without_its_own_signed_key_id_creates_nothing(app, merchant, api_keys, token):
    form = _create_form(merchant, "Web shop")
    if token == "other-merchant":
        bob = sign_in(app.test_client(), "bob@example.com")
        token = _create_form(bob, "Web shop")["key_token"]

    response = merchant.post("/settings/api-keys", data={**form, "key_token": token})
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "This form was open too long" in html
    assert 'value="Web shop"' in html  # what was typed is kept, with a new key id to send
    assert _KEY_TOKEN.search(html).group(1) not in ("", token)
    assert api_keys.list_keys("alice@example.com") == []


def test_the_list_says_when_each_key_was_last_used(merchant, api_keys):
    full_key = _shown_key(_create(merchant, "Invoicing").get_data(as_text=True))
    assert ">never<" in merchant.get("/settings").get_data(as_text=True)

    api_keys.authenticate(full_key)

    assert ">never<" not in merchant.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("x" * 61, "Use at most 60 characters."), ("   ", "Enter a name")],
)
def test_a_bad_name_shows_the_form_again_with_what_was_typed(merchant, api_keys, typed, message):
    response = _create(merchant, typed)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert message in html
    assert f'value="{typed}"' in html
    assert 'aria-invalid="true"' in html
    assert "This is the only time" not in html
    assert api_keys.list_keys("alice@example.com") == []


def test_a_merchant_at_the_key_limit_is_told_to_revoke_one_first(merchant, api_keys):
    for n in range(MAX_ACTIVE_KEYS):
        api_keys.create_key(actor_for("alice@example.com"), f"Key {n}")

    response = _create(merchant, "One more")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "the most allowed" in html
    assert 'value="One more"' in html
    assert len(api_keys.list_keys("alice@example.com")) == MAX_ACTIVE_KEYS


def test_a_merchant_revokes_a_key(merchant, api_keys):
    full_key = _shown_key(_create(merchant, "Old script").get_data(as_text=True))
    key_id = full_key.split("_")[1]

    response = merchant.post(
        f"/settings/api-keys/{key_id}/revoke", data={"csrf_token": _settings_token(merchant)}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/settings"
    page = merchant.get("/settings").get_data(as_text=True)
    assert "API key “Old script” is revoked." in page
    assert "Revoked" in page
    assert f"/settings/api-keys/{key_id}/revoke" not in page  # nothing left to revoke
    assert api_keys.authenticate(full_key) is None


def test_a_merchant_cannot_revoke_another_merchants_key(app, merchant, api_keys):
    bobs_key, bobs_full_key = api_keys.create_key(actor_for("bob@example.com"), "Bob shop")

    response = merchant.post(
        f"/settings/api-keys/{bobs_key.key_id}/revoke",
        data={"csrf_token": _settings_token(merchant)},
    )

    assert response.status_code == 404
    assert "API key not found" in response.get_data(as_text=True)
    assert api_keys.authenticate(bobs_full_key) is not None
    bob = sign_in(app.test_client(), "bob@example.com")
    assert "Bob shop" in bob.get("/settings").get_data(as_text=True)
    assert "Bob shop" not in merchant.get("/settings").get_data(as_text=True)


def test_the_settings_page_is_never_served_from_the_browser_cache(merchant):
    # Its form carries a key id minted for one submit; the back button must not bring it back.
    assert merchant.get("/settings").headers["Cache-Control"] == "no-store"
