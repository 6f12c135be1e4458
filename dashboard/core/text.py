"""Rules for the free text merchants and payers type: names, products, addresses.

One rule for every surface (the web forms, the JSON API, the order model), so a name the API
refuses is refused by the form too, with the same message.
"""

from __future__ import annotations

import unicodedata

CONTROL_CHARACTERS_MESSAGE = (
    "Use letters, digits, spaces and punctuation only: no line breaks, tabs or control characters."
)

# Categories refused anywhere in a name: controls (tab, newline, CR, NUL, DEL, the C1 range),
# the line and paragraph separators (they break lines as a newline does), and lone surrogates
# (not text DynamoDB stores).
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
# The bidirectional controls reorder what a reader sees ("Trojan Source"), so a name could read
# differently in the dashboard, the CSV and the payer's bank. Other format characters, such as
# the zero-width non-joiner of Persian names and the joiner of emoji, are ordinary text.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"  # the Arabic letter mark, the left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)


def has_control_characters(text: str, allowed: str = "") -> bool:
    """Return True when ``text`` holds a control character (other than those in ``allowed``).

    ``allowed`` lets a multi-line field, such as a shipping address, keep ``"\\r\\n"``.
    """
    return any(
        (unicodedata.category(c) in _REFUSED_CATEGORIES or c in _BIDI_CONTROLS) and c not in allowed
        for c in text
    )
