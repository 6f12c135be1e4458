"""Understanding what a merchant typed in the search box.

One text can mean several things: ``42`` is an amount (42.00) and the start of a word
(``Invoice 42``); ``01a2`` may begin a payment id. Every reading that fits becomes one indexed
lookup, and the results are merged newest first, so search costs what its matches cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from dashboard.core.words import normalise_word, words_of
from dashboard.domain.money import SUPPORTED_CURRENCIES, InvalidAmount, parse_amount, to_minor

# At least the first 8 characters of a UUIDv7 (about a minute of payments), up to all 36.
_ID_PREFIX = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{0,4}){0,3}(-[0-9a-f]{0,12})?")
_PROVIDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{7,127}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CURRENCY_SYMBOLS = {"£": "GBP", "€": "EUR"}
# The longest search text any surface accepts (the payments and orders lists, the JSON API).
MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True)
class SearchTerms:
    """Every reading of the search text that can be looked up in an index."""

    text: str
    id_prefix: str | None = None
    provider_id: str | None = None
    amount_minor: int | None = None
    amount_currency: str | None = None
    email: str | None = None
    words: tuple[str, ...] = ()

    @property
    def driving_word(self) -> str | None:
        """Return the word to look up: digits are the most selective, then the longest word."""
        if not self.words:
            return None
        return max(self.words, key=lambda w: (any(c.isdigit() for c in w), len(w)))

    @property
    def other_words(self) -> tuple[str, ...]:
        """Return the words every match must also contain (as a prefix of one of its words)."""
        driving = self.driving_word
        return tuple(w for w in self.words if w != driving)


def parse_search(text: str) -> SearchTerms:
    """Return the readings of a search text (already trimmed and length-checked)."""
    text = text.strip()
    if not text:
        return SearchTerms(text="")
    if _EMAIL.fullmatch(text):
        return SearchTerms(text=text, email=text.lower())
    lowered = text.lower()
    amount_minor, amount_currency = _amount_reading(text)
    # "12.50" or "£12" is an amount and nothing else; a bare "42" may also begin a word.
    words = tuple(words_of(text))[:6] if amount_minor is None or text.isdigit() else ()
    id_prefix = lowered if _ID_PREFIX.fullmatch(lowered) else None
    provider_id = text if _PROVIDER_ID.fullmatch(text) and not text.isdigit() else None
    return SearchTerms(
        text=text,
        id_prefix=id_prefix,
        provider_id=provider_id,
        amount_minor=amount_minor,
        amount_currency=amount_currency,
        words=words,
    )


def _amount_reading(text: str) -> tuple[int | None, str | None]:
    currency = None
    compact = text.replace(" ", "")
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if compact.startswith(symbol):
            currency = code
    for code in SUPPORTED_CURRENCIES:
        if compact.upper().endswith(code):
            currency, compact = code, compact[: -len(code)]
    try:
        amount = parse_amount(compact, currency or "GBP")
    except InvalidAmount:
        return None, None
    return to_minor(amount, currency or "GBP"), currency


def matches_all_words(words: tuple[str, ...], *texts: str | None) -> bool:
    """Return True when every search word begins some word of the texts."""
    if not words:
        return True
    available = [w for text in texts for w in words_of(text)]
    return all(any(candidate.startswith(word) for candidate in available) for word in words)


_TOKEN = re.compile(r"[^\W_]+|[\W_]+")


def highlight(text: str | None, terms: SearchTerms | None) -> Markup:
    """Return ``text`` escaped, with the parts that match search words marked."""
    if not text:
        return Markup("")
    if terms is None or not terms.words:
        return escape(text)
    parts = []
    for token in _TOKEN.findall(text):
        normalised = normalise_word(token)
        word = next((w for w in terms.words if normalised.startswith(w)), None)
        if word and token[:1].isalnum():
            # Case folding keeps length for the scripts people type here; fall back to the
            # whole token when it does not (e.g. "ß").
            cut = len(word) if len(normalised) == len(token) else len(token)
            parts.append(Markup("<mark>{}</mark>{}").format(token[:cut], token[cut:]))
        else:
            parts.append(escape(token))
    return Markup("").join(parts)
