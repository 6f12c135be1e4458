"""A team in a real browser: an Owner invites a Viewer, who joins and can only look; the Owner
confirms it's them and makes the Viewer a Payments operator; the audit log tells the story."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id


def _snap(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"team-{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


def _provider_knows(oidc_provider, subject: str, **claims) -> None:
    """Tell the provider what it knows of a person (oidc-provider-mock's ``PUT /users/{sub}``)."""
    answer = requests.put(f"{oidc_provider.url}/users/{subject}", json=claims, timeout=10)
    assert answer.status_code == 204, answer.text


def _authorize(page: Page, subject: str) -> None:
    """Sign in as ``subject`` on the provider's page the browser is on."""
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()


@pytest.mark.parametrize(("width", "device"), [(1280, "desktop"), (390, "phone")])
def test_an_owner_invites_a_viewer_who_joins_and_is_then_made_a_payments_operator(
    visitor_factory, live_app, oidc_provider, artifacts_dir, width, device
):
    suffix = new_id()[-8:]
    owner_email, bob_email = f"owner-{suffix}@example.com", f"bob-{suffix}@example.com"
    # Both with addresses their provider verified, as make run's alice, bob and carol are.
    _provider_knows(oidc_provider, owner_email, email=owner_email, email_verified=True)
    _provider_knows(oidc_provider, bob_email, email=bob_email, email_verified=True)
    owner = visitor_factory(width=width)
    owner.sign_in(owner_email)
    page = owner.page

    # The Owner invites Bob as a Viewer and copies the link shown once.
    page.get_by_role("banner").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Team").click()
    page.get_by_label("Email").fill(bob_email)
    page.locator("#invite select[name=role]").select_option(label="Viewer")
    page.get_by_role("button", name="Invite member").click()
    link = page.get_by_label("Invitation link").input_value()
    assert "/invitations/" in link
    _snap(page, artifacts_dir, f"invited-{device}")

    # Bob opens it signed out, signs in, comes back to it and accepts.
    bob = visitor_factory(width=width)
    bob.page.goto(link)
    expect(bob.page.get_by_text("as Viewer", exact=False).first).to_be_visible()
    bob.page.get_by_role("button", name="Sign in").click()
    _authorize(bob.page, bob_email)
    expect(bob.page.get_by_role("button", name="Accept invitation")).to_be_visible()
    _snap(bob.page, artifacts_dir, f"invitation-{device}")
    bob.page.get_by_role("button", name="Accept invitation").click()
    bob.page.wait_for_url(f"{live_app.url}/payments")

    # As a Viewer he sees the account's payments but cannot make one.
    expect(bob.page.get_by_role("heading", name="Payments")).to_be_visible()
    expect(bob.page.get_by_role("link", name="New payment link")).to_have_count(0)
    refused = bob.page.request.post(
        live_app.url + "/payments",
        form={"amount": "5.00", "currency": "GBP", "reference": "Not allowed"},
        headers={"X-CSRFToken": _csrf(bob.page)},
    )
    assert refused.status == 403
    _snap(bob.page, artifacts_dir, f"viewer-payments-{device}")

    # Later: the Owner's sign-in is older than 5 minutes (the provider says so at a new sign-in).
    _provider_knows(oidc_provider, owner_email, email=owner_email, email_verified=True,
                    auth_time=int(time.time()) - 3600)  # fmt: skip
    page.goto(live_app.url + "/login?next=/settings/team")
    _authorize(page, owner_email)
    page.wait_for_url(f"{live_app.url}/settings/team")
    row = page.locator("tr", has_text=bob_email)
    row.get_by_role("combobox").select_option(label="Payments operator")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    _snap(page, artifacts_dir, f"confirm-{device}")
    _provider_knows(oidc_provider, owner_email, email=owner_email, email_verified=True)
    page.get_by_role("link", name="Sign in again").click()
    _authorize(page, owner_email)
    page.wait_for_url(f"{live_app.url}/settings/team")  # back on the form's page, nothing replayed
    row = page.locator("tr", has_text=bob_email)
    expect(row).to_contain_text("Viewer")
    row.get_by_role("combobox").select_option(label="Payments operator")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("is now a Payments operator", exact=False)).to_be_visible()

    # Bob's next request has the new role.
    bob.page.reload()
    expect(bob.page.get_by_role("link", name="New payment link").first).to_be_visible()

    # The audit log shows the invitation, the join and the role change, each with its actor.
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log").click()
    log = page.locator("table")
    expect(log).to_contain_text("Role changed")
    for action, actor in [("Member invited", owner_email), ("Member joined", bob_email),
                          ("Role changed", owner_email)]:  # fmt: skip
        expect(page.locator("tr", has_text=action).filter(has_text=actor).first).to_be_visible()
    _snap(page, artifacts_dir, f"audit-log-{device}")


def _csrf(page: Page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
