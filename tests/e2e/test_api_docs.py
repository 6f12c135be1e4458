"""The API reference in a real browser: its contents link to every section and endpoint, jump
there, and stay in reach on a long page (a sticky column on a desktop, a fold on a phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _in_view(page: Page, selector: str) -> bool:
    """Whether the element's top is on the screen now."""
    return page.evaluate(
        """(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
                           return box.top >= -1 && box.top < window.innerHeight; }""",
        selector,
    )


def _targets(page: Page) -> list[str]:
    return page.locator("nav.api-contents a").evaluate_all(
        "(links) => links.map((a) => a.getAttribute('href'))"
    )


def test_the_contents_list_every_part_and_stay_beside_the_reference_on_a_desktop(
    visitor_factory, live_app, artifacts_dir
):
    visitor = visitor_factory(width=1280, height=900)
    visitor.sign_in("docs-reader@example.com")
    page = visitor.page
    page.goto(live_app.url + "/api/v1/docs")
    contents = page.get_by_role("navigation", name="Contents")
    expect(contents).to_be_visible()

    # Every section and every endpoint of the page has its entry, and each entry has a target.
    headings = page.locator(".api-reference section[aria-labelledby]").evaluate_all(
        "(sections) => sections.map((s) => '#' + s.getAttribute('aria-labelledby'))"
    )
    endpoints = page.locator("article.api-endpoint").evaluate_all(
        "(articles) => articles.map((a) => '#' + a.id)"
    )
    assert len(endpoints) >= 10
    assert sorted(_targets(page)) == sorted(headings + endpoints)

    # An endpoint far down the page: the link jumps to it, and the contents are still in view.
    last = endpoints[-1]
    contents.locator(f"a[href='{last}']").click()
    expect(page).to_have_url(live_app.url + "/api/v1/docs" + last)
    assert page.evaluate("window.scrollY") > 3000
    assert _in_view(page, last)
    # Sticky beside the reference; taller than the window now, it scrolls in itself to the link.
    expect(contents).to_be_in_viewport()
    expect(contents.locator(f"a[href='{last}']")).to_be_in_viewport()
    page.screenshot(path=str(artifacts_dir / "api-docs-contents-desktop.png"))
    contents.get_by_role("link", name="Problem types").click()
    assert _in_view(page, "#problems")
    expect(page.get_by_role("link", name="Back to contents").first).to_be_hidden()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_contents_fold_at_the_top_and_every_endpoint_leads_back(
    visitor_factory, live_app, artifacts_dir, scheme
):
    visitor = visitor_factory(width=390, height=844, color_scheme=scheme)
    page = visitor.page
    page.goto(live_app.url + "/api/v1/docs")  # public: no sign-in needed to read it
    fold = page.locator("nav.api-contents details")
    expect(fold).not_to_have_attribute("open", "")
    # Folded, the contents take one line: the reference starts on the first screen.
    assert page.locator("#api-start").bounding_box()["y"] < 844

    page.get_by_text("Contents", exact=True).click()
    expect(fold).to_have_attribute("open", "")
    page.screenshot(path=str(artifacts_dir / f"api-docs-contents-open-phone-{scheme}.png"))
    entry = page.locator("nav.api-contents a[href^='#'][href*='cancel']").first
    target = entry.get_attribute("href")
    box = entry.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # a finger's target
    entry.click()
    assert _in_view(page, target)
    expect(fold).not_to_have_attribute("open", "")  # folded again for the way back

    page.locator(target).get_by_role("link", name="Back to contents").click()
    assert _in_view(page, "#contents")
    expect(fold).to_have_attribute("open", "")
    page.screenshot(path=str(artifacts_dir / f"api-docs-back-to-contents-phone-{scheme}.png"))
