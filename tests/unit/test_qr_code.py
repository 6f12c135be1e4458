"""The payment link's QR code: an SVG the page's stylesheet can size without cutting it off."""

from __future__ import annotations

import re

from dashboard.web.payments.qr_codes import qr_code_svg


def test_the_qr_code_scales_to_its_box_with_its_quiet_zone():
    """A viewBox and no fixed size: the CSS box shows the whole symbol, never a cropped part."""
    svg = str(qr_code_svg("https://pay.example.com/links/abc"))

    opening = svg[: svg.index(">") + 1]
    assert re.fullmatch(r'<svg viewBox="0 0 (\d+) \1" class="segno">', opening), opening
    assert "width=" not in opening
    assert "height=" not in opening
    assert "style=" not in svg  # the Content-Security-Policy forbids inline styles
