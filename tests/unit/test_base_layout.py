"""The layout every page shares: a skip link first, and the main content it skips to."""

from __future__ import annotations

import re

import pytest

from tests.unit.conftest import sign_in


@pytest.mark.parametrize("path", ["/", "/payments", "/orders"])
def test_the_first_link_on_every_page_skips_to_the_main_content(client, path):
    sign_in(client)
    html = client.get(path, follow_redirects=True).get_data(as_text=True)

    body = html[html.index("<body") :]
    first_link = re.search(r"<a [^>]*>[^<]*</a>", body)
    assert first_link is not None
    assert first_link.group(0) == '<a href="#content" class="skip-link">Skip to content</a>'
    assert re.search(r'<main [^>]*id="content"', body)
    # Before any other focusable element: nothing (link, button, field) comes first.
    before = body[: first_link.start()]
    assert not re.search(r"<(a|button|input|select|textarea)\b", before)
