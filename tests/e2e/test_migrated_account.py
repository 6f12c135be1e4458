"""A merchant from before accounts signs in to the account ``migrate-accounts`` gave them."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import MERCHANT_FROM_BEFORE_ACCOUNTS, PAYMENTS_FROM_BEFORE_ACCOUNTS


def test_a_merchant_from_before_accounts_finds_everything_in_their_migrated_account(
    visitor_factory, live_app
):
    visitor = visitor_factory()
    visitor.sign_in(MERCHANT_FROM_BEFORE_ACCOUNTS)
    page = visitor.page

    all_tile = page.get_by_role("link", name=re.compile(r"^All\s+\d+$"))
    expect(all_tile).to_be_visible()
    # The seeded payments, and the links its orders asked for.
    assert int(all_tile.inner_text().split()[-1]) >= PAYMENTS_FROM_BEFORE_ACCOUNTS
    assert live_app.account_of(MERCHANT_FROM_BEFORE_ACCOUNTS) == MERCHANT_FROM_BEFORE_ACCOUNTS

    page.get_by_role("banner").get_by_role("link", name="Orders").click()
    expect(page.locator("table.orders-table tbody tr")).to_have_count(3)

    page.get_by_role("banner").get_by_role("link", name="Statistics").click()
    page.get_by_role("link", name="90 days").click()
    expect(page.get_by_role("heading", name="GBP")).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()

    page.get_by_role("banner").get_by_role("link", name="Payments").click()
    page.locator("table a[href^='/payments/']").first.click()
    expect(
        page.get_by_role("button", name="Copy link").or_(page.locator(".head-status"))
    ).to_be_visible()
