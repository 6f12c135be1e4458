"""The one rule for names typed by merchants and payers: no line breaks, tabs or other controls."""

from __future__ import annotations

import pytest

from dashboard.core.text import has_control_characters


@pytest.mark.parametrize(
    "name",
    [
        "Ada Lovelace",
        "Chloé Dupont-Durand",
        "O'Brien & Sons, Ltd.",
        "Zoë\u00a0Smith",  # a no-break space pasted from a document
        "می\u200cخواهم",  # Persian writes the zero-width non-joiner inside words
        "Team 👩\u200d💻",  # the joiner inside an emoji
        "李小龍",
    ],
)
def test_names_in_any_script_are_ordinary_text(name):
    assert not has_control_characters(name)


@pytest.mark.parametrize(
    "name",
    [
        "Ann\nSmith",
        "Ann\r\nSmith",
        "Ann\rSmith",
        "Ann\tSmith",
        "Ann\x00",
        "Ann\x7f",
        "Ann\x85Smith",  # NEL, a C1 line break
        "Ann\u2028Smith",  # the line separator
        "Ann\u2029Smith",  # the paragraph separator
        "Ann \u202etxt.exe",  # the right-to-left override turns what a reader sees around
    ],
)
def test_line_breaks_tabs_and_other_controls_are_found_anywhere_in_a_name(name):
    assert has_control_characters(name)


def test_a_multi_line_field_may_allow_its_line_breaks_and_nothing_else():
    assert not has_control_characters("12 St James's Square\r\nLondon", allowed="\r\n")
    assert has_control_characters("12 St James's Square\tLondon", allowed="\r\n")
