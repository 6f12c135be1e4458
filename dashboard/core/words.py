"""Words as search sees them: split on anything but letters and digits, case-folded, unaccented.

One rule for what is indexed (the store's word items) and what is searched for (the search
box), so "Zoë" typed finds "ZOE" stored.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORD_LENGTH = 40
_WORD = re.compile(r"[^\W_]+")


def normalise_word(word: str) -> str:
    """Return the form a word is indexed and searched in: case-folded, accents removed."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))[:MAX_WORD_LENGTH]


def words_of(text: str | None) -> list[str]:
    """Return the distinct normalised words of a text, in order."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text or ""):
        seen.setdefault(normalise_word(match.group()), None)
    return list(seen)
