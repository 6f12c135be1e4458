"""Small helpers for showing payments: the QR code of a link."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_code_svg(url: str) -> Markup:
    """Return an inline SVG QR code of ``url`` (no inline styles, so the CSP allows it)."""
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(
        scale=5, border=2, dark="#111", light="#fff", title="QR code of the payment link"
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG output, no user HTML in it
