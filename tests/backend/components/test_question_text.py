"""The "same question" rule of verified-example reuse: a match skips the model entirely, so it
must let through only case, Unicode form, spacing and closing punctuation, and keep apart
questions whose words, numbers or operators differ."""

from __future__ import annotations

import pytest

from backend.components.question_text import normalise_question

SAME = [
    ("How many films are there?", "how many films are there"),
    ("How many films  are there ?", "HOW MANY FILMS ARE THERE."),
    ("Films , actors and categories!!", "films, actors and categories"),
    ("Revenue in \uff12\uff10\uff10\uff15?", "revenue in 2005"),  # full-width digits (NFKC)
    ("Straße totals", "STRASSE TOTALS"),  # case folding, not just lower()
    ("Top 5 customers\tby spend?\n", "top 5 customers by spend"),
]

DIFFERENT = [
    ("Films with price > 10", "Films with price < 10"),
    ("Average of 1.5 and up", "Average of 15 and up"),
    ("The customer's rentals", "The customers rentals"),
    ("How many films are there?", "How many films are in stock?"),
    ("Top 5 customers", "Top 50 customers"),
    ("Rentals in 2005-07", "Rentals in 2005-06"),
    ("Is it PG-13?", "Is it PG 13?"),
]


@pytest.mark.parametrize(("one", "other"), SAME)
def test_these_are_the_same_question(one: str, other: str) -> None:
    assert normalise_question(one) == normalise_question(other)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_these_stay_different_questions(one: str, other: str) -> None:
    assert normalise_question(one) != normalise_question(other)
