"""The normal form of a question, for "is this the same question as a verified one?".

Two questions are the same when they differ only in case, Unicode form, spacing and the
punctuation that ends a sentence: "How many films are there?" and "how many  films are there"
match. Everything else counts: "price > 10" and "price < 10", "1.5" and "15", "customer's" and
"customers" stay apart. Nothing is stemmed or reordered either, because a verified query is
reused as is and a near-miss must go to the model instead.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,;:?!])")
_SENTENCE_END = re.compile(r"[\s?!.]+$")


def normalise_question(question: str) -> str:
    """NFKC, case-folded, whitespace runs made one space, no space before , ; : ? !, and the
    sentence's closing ? ! . dropped."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = _SPACE.sub(" ", text).strip()
    text = _SPACE_BEFORE_MARK.sub(r"\1", text)
    return _SENTENCE_END.sub("", text)
