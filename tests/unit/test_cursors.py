"""Page cursors: opaque to the merchant, useless to anyone else, and bound to one list."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.store.cursors import CursorCodec, InvalidCursor
from tests.conftest import TEST_SECRET_KEY

ALICE = "alice@example.com"
BOB = "bob@example.com"
FINGERPRINT = "0123456789abcdef"
PAYMENT_ID = "01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f"
STATE = {
    "list": {"userId": ALICE, "paymentId": PAYMENT_ID, "sk": "pending#2026-11-20T12:00:00Z"},
    "skip": 3,
}


@pytest.fixture
def codec() -> CursorCodec:
    """The codec the app builds from its SECRET_KEY."""
    return CursorCodec(TEST_SECRET_KEY)


@pytest.fixture
def token(codec: CursorCodec) -> str:
    """Alice's cursor for the next page of one list."""
    return codec.encode(STATE, ALICE, FINGERPRINT)


def test_a_merchant_continues_the_list_where_the_page_ended(codec, token):
    """The state the finder stopped at comes back unchanged."""
    assert codec.decode(token, ALICE, FINGERPRINT) == STATE


@settings(max_examples=100, deadline=None)
@given(
    state=st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.integers(), st.text(max_size=40), st.booleans(), st.none()),
        max_size=6,
    )
)
def test_any_finder_state_survives_the_round_trip(state):
    """Whatever plain values the finder keeps, the cursor gives them back."""
    codec = CursorCodec(TEST_SECRET_KEY)
    assert codec.decode(codec.encode(state, ALICE, FINGERPRINT), ALICE, FINGERPRINT) == state


def test_a_cursor_is_safe_to_put_in_a_url(token):
    """Only URL-safe base64 characters, so no escaping is needed in the page link."""
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@pytest.mark.parametrize("secret", [ALICE, PAYMENT_ID, "alice", "paymentId", "pending#"])
def test_a_cursor_does_not_reveal_the_merchant_or_the_keys_it_holds(token, secret):
    """Neither the token nor its base64-decoded bytes show the user id or key text."""
    decoded = base64.urlsafe_b64decode(token)
    assert secret not in token
    assert secret.encode() not in decoded


def flip_middle_character(token: str) -> str:
    """Return the token with the character in its middle changed to another base64 letter."""
    middle = len(token) // 2
    replacement = "B" if token[middle] == "A" else "A"
    return token[:middle] + replacement + token[middle + 1 :]


def test_a_tampered_cursor_is_refused(codec, token):
    """One changed character makes the link 'damaged', never a different page."""
    tampered = flip_middle_character(token)
    assert tampered != token
    with pytest.raises(InvalidCursor, match="damaged"):
        codec.decode(tampered, ALICE, FINGERPRINT)


@pytest.mark.parametrize("garbage", ["", "not-a-cursor", "%%%", "gAAAAA", "é" * 20])
def test_a_made_up_cursor_is_refused(codec, garbage):
    """Anything that was not issued by the app is an InvalidCursor, not a crash."""
    with pytest.raises(InvalidCursor):
        codec.decode(garbage, ALICE, FINGERPRINT)


def test_a_merchant_cannot_use_another_merchants_cursor(codec, token):
    """Bob pasting Alice's page link does not see where Alice's list was."""
    with pytest.raises(InvalidCursor, match="another list"):
        codec.decode(token, BOB, FINGERPRINT)


def test_a_cursor_does_not_continue_a_list_with_other_filters(codec, token):
    """Changing the filters starts the list again instead of skipping into it."""
    with pytest.raises(InvalidCursor, match="another list"):
        codec.decode(token, ALICE, "fedcba9876543210")


def test_a_cursor_from_another_deployment_is_refused(token):
    """A cursor made under another SECRET_KEY cannot be read."""
    other = CursorCodec("another-secret-key-that-is-long-enough-9876543210")
    with pytest.raises(InvalidCursor, match="damaged"):
        other.decode(token, ALICE, FINGERPRINT)


def test_an_overly_long_cursor_is_refused_before_decrypting(codec):
    """A huge token is refused up front, so it cannot cost the server work."""
    with pytest.raises(InvalidCursor, match="too long"):
        codec.decode("A" * 16_001, ALICE, FINGERPRINT)


def test_two_cursors_for_the_same_page_look_different(codec):
    """Each token is freshly encrypted, so equal states cannot be spotted by comparing links."""
    first = codec.encode(STATE, ALICE, FINGERPRINT)
    second = codec.encode(STATE, ALICE, FINGERPRINT)
    assert first != second
    assert codec.decode(first, ALICE, FINGERPRINT) == codec.decode(second, ALICE, FINGERPRINT)
