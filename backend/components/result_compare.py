"""Execution match of two query results, as an evaluation scores a generated query against the
expected one (pure: no I/O).

The rules, as Spider's execution accuracy and a little kinder to numbers:

- Rows are compared as multisets: a duplicate counts, and order does not matter unless the
  expected query orders its result (``ordered``; see ``expected_is_ordered``).
- Column names and column order are ignored: the generated columns may be any permutation of
  the expected ones (found by matching each column's values first, then trying the candidate
  permutations, at most ``MAX_PERMUTATIONS``). A different number of columns is a mismatch.
- Numbers compare with a relative tolerance (``REL_TOL``: float4 noise passes, a cent in a
  total of 100,000 does not; ``ABS_TOL`` near zero): ints,
  floats, and decimals the runner kept as text (``"12345678901234567.89"``) are all numbers;
  a string that is a plain decimal numeral counts as that number. ``True`` is not ``1``.
- NULL equals NULL (as a value of a row, not as SQL's unknown).
- Nested values (MongoDB documents, arrays) compare structurally with the same number rule.

Tolerance makes "equal" not quite transitive, so rows are sorted by a key in which numbers are
rounded to ``KEY_DIGITS`` significant digits (near-equal numbers tie and the next column
decides), then compared pairwise with the tolerance. Two numbers that straddle a rounding
boundary and differ only in the 7th digit can still sort apart; that costs a false mismatch in
a result with several rows sharing every other value, never a false match.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

REL_TOL = 1e-7
ABS_TOL = 1e-9
KEY_DIGITS = 6
MAX_PERMUTATIONS = 1_000
# Steps of the search for those orders: columns alike enough to stand for several others (a
# dozen columns of zeros) but with no complete order among them would otherwise be searched
# for factorially long.
MAX_SEARCH_STEPS = 50_000
# Rows the diff keeps of each side's surplus: what the screen shows, not the whole result.
DIFF_ROWS = 5

_NUMERAL = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Comparison:
    match: bool
    reason: str | None = None  # why not, in a sentence
    # What the screen shows: both sides' columns and row counts, and a few rows only one side has.
    diff: dict[str, Any] = field(default_factory=dict)


def as_number(value: Any) -> float | None:
    """The value as a number when it is one (bool is not), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, str) and len(value) < 400 and _NUMERAL.match(value):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return None
    return None


def values_equal(a: Any, b: Any) -> bool:
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        if math.isnan(na) or math.isnan(nb):
            return math.isnan(na) and math.isnan(nb)
        return math.isclose(na, nb, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if (na is None) != (nb is None):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(type(a) is type(b) and a == b)


def value_key(value: Any) -> tuple[int, Any]:
    """A sort key: type first (NULL, bool, number, text, structure), numbers rounded."""
    number = as_number(value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if number is not None:
        if not math.isfinite(number):
            return (2, str(number))
        return (3, float(f"{number:.{KEY_DIGITS - 1}e}"))
    if isinstance(value, str):
        return (4, value)
    return (5, json.dumps(_rounded(value), sort_keys=True, default=str))


def _rounded(value: Any) -> Any:
    number = as_number(value)
    if number is not None and math.isfinite(number):
        return float(f"{number:.{KEY_DIGITS - 1}e}")
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _row_key(row: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple(value_key(v) for v in row)


def _rows_equal(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))


def rows_match(expected: list[list[Any]], generated: list[list[Any]], ordered: bool) -> bool:
    """Whether two results with columns in the same order hold the same rows (as multisets
    unless ``ordered``)."""
    if len(expected) != len(generated):
        return False
    if not ordered:
        expected = sorted(expected, key=_row_key)
        generated = sorted(generated, key=_row_key)
    return all(_rows_equal(e, g) for e, g in zip(expected, generated, strict=True))


def _column_signature(rows: list[list[Any]], index: int) -> Counter[Any]:
    return Counter(value_key(row[index]) for row in rows)


def _prefer(i: int) -> Callable[[int], tuple[bool, int]]:
    return lambda j: (j != i, j)


def _alike(have: list[Counter[Any]], wanted: Counter[Any], i: int) -> Callable[[int], tuple[int, bool, int]]:
    return lambda j: (-sum((have[j] & wanted).values()), j != i, j)


def candidate_permutations(expected: Table, generated: Table) -> list[tuple[int, ...]]:
    """Orders of the generated columns (``perm[i]``: the generated column standing for expected
    column ``i``) whose columns each hold the same values as the expected one, the identity
    first; at most ``MAX_PERMUTATIONS``, found in at most ``MAX_SEARCH_STEPS`` steps."""
    width = len(expected.columns)
    wanted = [_column_signature(expected.rows, i) for i in range(width)]
    have = [_column_signature(generated.rows, j) for j in range(width)]
    # A column's rounded values are a necessary condition only near rounding boundaries; when no
    # column qualifies that way every column stays a candidate, so tolerance is never lost.
    options: list[list[int]] = []
    for i in range(width):
        same = [j for j in range(width) if have[j] == wanted[i]]
        # Failing that, the most alike first: the diff then lines the columns up as well as it can.
        options.append(sorted(same, key=_prefer(i)) or sorted(range(width), key=_alike(have, wanted[i], i)))
    found: list[tuple[int, ...]] = []
    chosen: list[int] = []
    used: set[int] = set()
    steps = 0

    def extend(i: int) -> None:
        nonlocal steps
        steps += 1
        if len(found) >= MAX_PERMUTATIONS or steps > MAX_SEARCH_STEPS:
            return
        if i == width:
            found.append(tuple(chosen))
            return
        for j in options[i]:
            if j not in used:
                used.add(j)
                chosen.append(j)
                extend(i + 1)
                chosen.pop()
                used.discard(j)

    extend(0)
    return found


def _only_in(left: list[list[Any]], right: list[list[Any]]) -> list[list[Any]]:
    """Up to ``DIFF_ROWS`` rows of ``left`` that ``right`` lacks (counting duplicates)."""
    pool = Counter(json.dumps(_rounded(r), sort_keys=True, default=str) for r in right)
    out: list[list[Any]] = []
    for row in left:
        key = json.dumps(_rounded(row), sort_keys=True, default=str)
        if pool[key] > 0:
            pool[key] -= 1
        elif len(out) < DIFF_ROWS:
            out.append(row)
    return out


def compare(expected: Table, generated: Table, ordered: bool) -> Comparison:
    """Whether ``generated`` answers as ``expected`` does (see the module's rules)."""
    diff: dict[str, Any] = {
        "expected_columns": expected.columns,
        "generated_columns": generated.columns,
        "expected_row_count": len(expected.rows),
        "generated_row_count": len(generated.rows),
        "ordered": ordered,
    }
    reason: str | None = None
    best: list[list[Any]] = generated.rows
    if len(expected.columns) != len(generated.columns):
        reason = f"{len(generated.columns)} columns where {len(expected.columns)} were expected"
    elif len(expected.rows) != len(generated.rows):
        reason = f"{len(generated.rows)} rows where {len(expected.rows)} were expected"
    else:
        perms: list[tuple[int, ...]] = candidate_permutations(expected, generated) if expected.columns else [()]
        for perm in perms:
            arranged = [[row[j] for j in perm] for row in generated.rows]
            if rows_match(expected.rows, arranged, ordered):
                diff["column_map"] = list(perm)
                return Comparison(True, None, diff)
        if perms:
            best = [[row[j] for j in perms[0]] for row in generated.rows]
        reason = "the rows are in another order" if ordered and _same_unordered(expected, perms, generated) else None
        reason = reason or "the rows differ"
    diff["only_expected"] = _only_in(expected.rows, best) if len(expected.columns) == len(generated.columns) else []
    diff["only_generated"] = _only_in(best, expected.rows) if len(expected.columns) == len(generated.columns) else []
    if len(expected.columns) != len(generated.columns):
        diff["only_expected"] = expected.rows[:DIFF_ROWS]
        diff["only_generated"] = generated.rows[:DIFF_ROWS]
    return Comparison(False, reason, diff)


def _same_unordered(expected: Table, perms: list[tuple[int, ...]], generated: Table) -> bool:
    for perm in perms:
        if rows_match(expected.rows, [[row[j] for j in perm] for row in generated.rows], ordered=False):
            return True
    return False


def expected_is_ordered(language: str, query: str) -> bool:
    """Whether the result's order is part of the answer: a top-level ORDER BY (SQL), or a
    ``$sort``/``$sortByCount`` stage that no later stage regroups (MongoDB)."""
    if language == "mongo":
        return _pipeline_sorted(query)
    try:
        parsed = sqlglot.parse_one(query, read="postgres")
    except Exception:  # the guard parsed it before; a failure here only means "unordered"
        return False
    while isinstance(parsed, exp.Subquery | exp.Paren):
        parsed = parsed.this
    return bool(parsed is not None and parsed.args.get("order"))


_REGROUPING = {"$group", "$bucket", "$bucketAuto", "$facet", "$unionWith", "$sample"}


def _pipeline_sorted(query: str) -> bool:
    try:
        data = json.loads(query)
    except ValueError:
        return False
    pipeline = data.get("pipeline") if isinstance(data, dict) else None
    if isinstance(data, dict) and pipeline is None and data.get("sort") not in (None, {}, []):
        return True  # the find form: {"collection", "filter", "sort"}
    if not isinstance(pipeline, list):
        return False
    ordered = False
    for stage in pipeline:
        if not isinstance(stage, dict):
            continue
        names = set(stage)
        if names & {"$sort", "$sortByCount"}:
            ordered = True
        elif names & _REGROUPING:
            ordered = False
    return ordered
