"""Small helpers for showing payments: the QR code of a link."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_code_svg(url: str) -> Markup:
    """Return an inline SVG QR code of ``url`` that scales to the box CSS gives it.

    No width or height, only a viewBox in modules, so the stylesheet sizes the whole symbol
    (a fixed 205 px drawing in a smaller box was cut off and did not scan). The quiet zone is
    the 4 modules the QR standard asks for, drawn light, so the code scans on a dark page too.
    No inline styles, so the CSP allows it.
    """
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(
        scale=1,
        border=4,
        dark="#111",
        light="#fff",
        omitsize=True,
        title="QR code of the payment link",
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG output, no user HTML in it
