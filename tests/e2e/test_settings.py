"""API keys in a real browser: create one on Settings, copy it once, see it listed, revoke it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from dashboard.core.ids import new_id

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("width", "height", "device"), [(1280, 900, "desktop"), (390, 844, "phone")]
)
def test_a_merchant_creates_copies_and_revokes_an_api_key(
    visitor_factory, live_app, artifacts_dir, width, height, device
):
    subject = f"keys-{new_id()[-8:]}@example.com"
    api_keys = live_app.app.extensions["api_keys"]
    visitor = visitor_factory(width=width, height=height)
    visitor.sign_in(subject)
    page = visitor.page

    page.get_by_role("banner").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="Settings")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    expect(page.get_by_role("link", name="Read the API documentation")).to_have_attribute(
        "href", "/api/v1/docs"
    )
    page.screenshot(path=artifacts_dir / f"settings-empty-{device}.png", full_page=True)

    # No name (the field caps its length itself): the message, the form again, nothing created.
    page.get_by_label("Name").fill("   ")
    page.get_by_role("button", name="Create API key").click()
    expect(
        page.get_by_text("Enter a name, such as the system that will use the key.")
    ).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    page.screenshot(path=artifacts_dir / f"settings-invalid-{device}.png", full_page=True)

    page.get_by_label("Name").fill("Web shop")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    expect(page.get_by_text("This is the only time the key is shown")).to_be_visible()
    full_key = page.get_by_label("Your API key").input_value()
    assert api_keys.authenticate(full_key).user_id == live_app.account_of(subject)
    expect(page.locator("#curl-example")).to_contain_text(f"Bearer {full_key}")
    page.screenshot(path=artifacts_dir / f"settings-key-created-{device}.png", full_page=True)

    visitor.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == full_key
    expect(page.get_by_role("button", name="Copy key")).to_be_visible(timeout=5_000)

    page.get_by_role("link", name="Done").click()
    row = page.locator("tr", has_text="Web shop")
    expect(row).to_contain_text(f"pdk_{full_key.split('_')[1]}_…")
    # The test called the API's authentication with the key above: that use is recorded.
    expect(row.locator('td[data-label="Last used"] time')).to_be_visible()
    expect(row).to_contain_text("Active")
    assert full_key not in page.content()
    page.screenshot(path=artifacts_dir / f"settings-with-keys-{device}.png", full_page=True)

    # Back to the creation page: no-store, so the browser has no copy of the key to show again.
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    page.wait_for_url("chrome-error://**")
    page.goto(live_app.url + "/settings")

    row.get_by_text("Revoke").first.click()
    page.screenshot(path=artifacts_dir / f"settings-revoke-confirm-{device}.png", full_page=True)
    row.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("API key “Web shop” is revoked.")).to_be_visible()
    expect(page.locator("tr", has_text="Web shop")).to_contain_text("Revoked")
    assert api_keys.authenticate(full_key) is None
    page.screenshot(path=artifacts_dir / f"settings-revoked-{device}.png", full_page=True)
