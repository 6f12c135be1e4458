"""A person in two accounts switches between them in a real browser, and a tab still showing the
account left cannot write into the one chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person, Role


def _snap(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"accounts-{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


def _join(live_app, subject: str, account_id: str, account_name: str) -> None:
    """Make the person a member of another account (what accepting an invitation will do)."""
    app = live_app.app
    person = Person(app.extensions["settings"].oidc_issuer, subject)
    membership = Membership(account_id, account_name, person, Role.OWNER)
    assert app.extensions["store"].accounts.add_member(membership)


@pytest.mark.parametrize(("width", "device"), [(1280, "desktop"), (390, "phone")])
def test_a_person_switches_account_and_a_stale_tab_writes_nothing(
    visitor_factory, live_app, artifacts_dir, width, device
):
    suffix = new_id()[-8:]
    owner, member = f"bikes-{suffix}@example.com", f"cafe-{suffix}@example.com"
    visitor_factory(width=width).sign_in(owner)  # makes the other account
    bikes = live_app.account_of(owner)
    visitor = visitor_factory(width=width)
    visitor.sign_in(member)
    cafe = live_app.account_of(member)
    _join(live_app, member, bikes, "Bob's Bikes")
    page = visitor.page

    # A second tab, still on the account the person works in now, with a form open.
    stale = visitor.context.new_page()
    stale.goto(live_app.url + "/payments/new")

    page.reload()
    switcher = page.locator("details.account-switcher")
    switcher.locator("summary").click()
    expect(page.get_by_role("button", name="Switch to Bob's Bikes")).to_be_visible()
    _snap(page, artifacts_dir, f"switcher-open-{device}")
    page.get_by_role("button", name="Switch to Bob's Bikes").click()
    expect(page.get_by_text("You are now working in Bob's Bikes.")).to_be_visible()
    expect(page.locator("details.account-switcher summary")).to_contain_text("Bob's Bikes")
    _snap(page, artifacts_dir, f"switched-{device}")

    stale.get_by_label("Amount").fill("12.50")
    stale.get_by_label("Reference").fill("Stale tab")
    stale.get_by_role("button", name="Create payment link").click()
    expect(stale.get_by_role("heading", name="You switched account in another tab")).to_be_visible()
    expect(stale.get_by_text("Nothing was changed.", exact=False)).to_be_visible()
    _snap(stale, artifacts_dir, f"stale-tab-refused-{device}")

    listing = live_app.app.extensions["payment_listing"]
    from dashboard.domain.payment_query import PaymentQuery

    for account in (bikes, cafe):
        assert listing.find_page(account, PaymentQuery(), None).payments == []
