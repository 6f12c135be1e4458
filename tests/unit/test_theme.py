"""The colour theme: the device's by default, or the one chosen with the header's button."""

from __future__ import annotations

import re

from tests.conftest import csrf_token_from
from tests.unit.conftest import sign_in


def _choose(client, theme: str, next_path: str = "/payments"):
    token = csrf_token_from(client.get("/", follow_redirects=True).get_data(as_text=True))
    return client.post("/theme", data={"csrf_token": token, "theme": theme, "next": next_path})


def test_by_default_pages_follow_the_devices_light_or_dark_preference(client):
    html = client.get("/").get_data(as_text=True)

    assert '<html lang="en-GB">' in html  # no data-theme: Pico follows prefers-color-scheme
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "Theme: Auto" in html


def test_choosing_dark_draws_every_page_dark_from_its_first_byte(client):
    sign_in(client)

    chosen = _choose(client, "dark")

    assert chosen.status_code == 303
    assert chosen.headers["Location"] == "/payments"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("theme=dark;")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    html = client.get("/payments").get_data(as_text=True)
    assert '<html lang="en-GB" data-theme="dark">' in html
    assert '<meta name="color-scheme" content="dark">' in html
    assert re.search(r'name="theme" value="light"', html)  # the button offers the next choice


def test_the_button_cycles_auto_dark_light(client):
    html = client.get("/").get_data(as_text=True)
    assert 'name="theme" value="dark"' in html
    _choose(client, "dark", "/")
    assert 'name="theme" value="light"' in client.get("/").get_data(as_text=True)
    _choose(client, "light", "/")
    light = client.get("/").get_data(as_text=True)
    assert 'data-theme="light"' in light
    assert 'name="theme" value="auto"' in light


def test_an_unknown_theme_or_an_offsite_next_is_harmless(client):
    chosen = _choose(client, "purple", "https://evil.example/")

    assert chosen.headers["Location"] == "/payments"  # safe_next_url: never off the site
    assert chosen.headers["Set-Cookie"].startswith("theme=auto;")
    client.set_cookie("theme", "purple")
    assert "data-theme" not in client.get("/").get_data(as_text=True).split(">")[1]


def test_the_dark_palette_gives_every_status_colour_a_dark_value(app):
    from pathlib import Path

    css = (Path(app.static_folder) / "css" / "app.css").read_text()
    # Written once with light-dark(light, dark): Pico sets the colour scheme for either theme.
    pairs = re.findall(r"(--pd-[a-z-]+): light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\)", css)
    single = set(re.findall(r"(--pd-[a-z-]+): #[0-9a-f]{6}", css))

    status_colours = {
        f"--pd-{s}{part}"
        for s in ("pending", "completed", "failed", "ended")
        for part in ("", "-bg", "-mark")
    }
    assert status_colours <= {name for name, _, _ in pairs}
    assert all(light != dark for _, light, dark in pairs)
    assert single == {"--pd-danger"}  # white text on it reads in both themes


def test_the_theme_button_returns_to_the_page_with_its_filters_but_no_next(client):
    sign_in(client)

    html = client.get("/payments?status=completed&q=tea&next=https://evil.example/").get_data(
        as_text=True
    )

    assert 'name="next" value="/payments?status=completed&amp;q=tea"' in html
    assert "evil.example" not in html
