"""Cost caps for the Mongo guard: stages and expressions with which a short pipeline makes the
server do enormous work (amplifiers). Each cap *refuses* with a sentence instead of rewriting
the query: the guard's contract is "run exactly what was checked or nothing", so the query the
user sees is the query that ran, and the sentence goes back to the model, which rewrites it.

Caps (all on literal values the model wrote; a value that is not a literal where a bound is
needed is refused, because it cannot be bounded before the query runs):

- ``$sample``: ``size`` at most ``MAX_SAMPLE``.
- ``$densify``: only an explicit ``[lower, upper]`` range (``"full"``/``"partition"`` span
  whatever the data holds, e.g. a century in seconds); ``(upper - lower) / step`` at most
  ``MAX_DENSIFY_STEPS``, or ``MAX_DENSIFY_STEPS_PARTITIONED`` with ``partitionByFields``
  (every partition is filled over the whole range). Date steps count with the shortest
  month (28 days), quarter (89) and year (365), so the estimate never undercounts.
- ``$fill`` is not capped: it only sets missing values in documents that exist.
- ``$bucketAuto``: ``buckets`` at most ``MAX_BUCKETS``.
- ``$graphLookup``: ``maxDepth`` required, at most ``MAX_GRAPH_DEPTH``.
- Regular expressions (``$regex``, ``$regexMatch``/``$regexFind``/``$regexFindAll``, bson
  ``Regex``, ``{"$regularExpression": ...}``): a literal pattern of at most
  ``MAX_REGEX_CHARS`` characters, with no repeated group that itself holds a quantifier or
  an alternation (``(a+)+``, ``(a|aa)*``): those backtrack exponentially, and a running
  regex match is not interrupted by ``maxTimeMS``. Options must be literal and the ``x``
  (extended) flag is refused: its comments and whitespace would hide a pattern's shape from
  the check. Polynomial backtracking (``.*.*.*x``) is not detected.
- ``$range``: literal integers (or ``{"$size": ...}`` as the end: no larger than an array
  that already exists), at most ``MAX_RANGE`` elements, and the product of all ranges in one
  stage at most ``MAX_RANGE`` (a conservative stand-in for ``$map`` over nested ranges).
- ``$reduce``: ``$$value`` used at most once in ``in`` and never inside ``$map``/``$let``/
  ``$replaceAll``, since a value that doubles per element is 2**n after n elements.
- ``$replaceAll``: a non-empty literal ``find`` and a literal ``replacement`` at most
  ``REPLACEMENT_GROWTH`` times longer (or ``MIN_REPLACEMENT_CHARS``), so a 16 MB string
  cannot become gigabytes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from bson.regex import Regex

from backend.engines.base import QueryRefusedError

MAX_SAMPLE = 1_000
MAX_DENSIFY_STEPS = 10_000
MAX_DENSIFY_STEPS_PARTITIONED = 1_000
MAX_BUCKETS = 1_000
MAX_GRAPH_DEPTH = 5
MAX_REGEX_CHARS = 200
MAX_RANGE = 10_000
REPLACEMENT_GROWTH = 4
MIN_REPLACEMENT_CHARS = 8

_DAY_MS = 86_400_000
# The shortest length of each unit, so a step count estimated with it is never too small.
UNIT_MS = {
    "millisecond": 1, "second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": _DAY_MS,
    "week": 7 * _DAY_MS, "month": 28 * _DAY_MS, "quarter": 89 * _DAY_MS, "year": 365 * _DAY_MS,
}  # fmt: skip
REGEX_EXPRESSIONS = ("$regexMatch", "$regexFind", "$regexFindAll")
# Operators that copy a value they are given many times: with $$value inside, $reduce doubles.
DUPLICATING = ("$map", "$let", "$replaceAll")
# "(?x)", "(?ix)", "(?x:...)", "(?^x)": the extended flag switched on inside a pattern.
_INLINE_EXTENDED = re.compile(r"\(\?[a-zA-Z^-]*x")
NESTED_REPETITION = (
    "The regular expression repeats a group that itself repeats or alternates, which can backtrack for hours; "
    "write it without nested repetition"
)


def _number(value: Any) -> float | None:
    """A literal finite number (bool is not one; nor an int too large for a float), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _millis(value: Any) -> float | None:
    """A literal date as epoch milliseconds: a datetime or extended JSON ``{"$date": ...}``."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.timestamp() * 1000
    if isinstance(value, dict) and set(value) == {"$date"}:
        inner = value["$date"]
        if isinstance(inner, dict) and set(inner) == {"$numberLong"}:
            inner = inner["$numberLong"]
        if isinstance(inner, str):
            try:
                return _millis(dt.datetime.fromisoformat(inner.replace("Z", "+00:00")))
            except ValueError:
                return _number(int(inner)) if inner.lstrip("-").isdigit() else None
        return _number(inner)
    return None


def _densify(spec: Any) -> None:
    rng = spec.get("range") if isinstance(spec, dict) else None
    if not isinstance(rng, dict):
        raise QueryRefusedError('$densify needs a "range" with "step" and "bounds"')
    bounds, step, unit = rng.get("bounds"), _number(rng.get("step")), rng.get("unit")
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise QueryRefusedError(
            '$densify needs explicit "bounds": [lower, upper]; "full" and "partition" are not allowed'
        )
    if step is None or step <= 0:
        raise QueryRefusedError('$densify needs a positive literal "step"')
    if unit is None:
        lower, upper = _number(bounds[0]), _number(bounds[1])
        step_size = step
    elif unit in UNIT_MS:
        lower, upper = _millis(bounds[0]), _millis(bounds[1])
        step_size = step * UNIT_MS[unit]
    else:
        raise QueryRefusedError(f'$densify "unit" must be one of {", ".join(UNIT_MS)}')
    if lower is None or upper is None:
        kind = "dates" if unit else "numbers"
        raise QueryRefusedError(f'$densify "bounds" must be two literal {kind}')
    partitioned = bool(spec.get("partitionByFields"))
    cap = MAX_DENSIFY_STEPS_PARTITIONED if partitioned else MAX_DENSIFY_STEPS
    if (upper - lower) / step_size > cap:
        where = " per partition" if partitioned else ""
        raise QueryRefusedError(
            f"$densify may create at most {cap:,} documents{where}: widen the step or narrow the bounds"
        )


def check_stage_costs(name: str, spec: Any) -> None:
    """Raise ``QueryRefusedError`` when one stage (``name``, ``spec``) exceeds a stage cap above."""
    if name == "$sample":
        size = _number(spec.get("size")) if isinstance(spec, dict) else None
        if size is None or size > MAX_SAMPLE:
            raise QueryRefusedError(f'$sample needs a literal "size" of at most {MAX_SAMPLE:,}')
    elif name == "$densify":
        _densify(spec)
    elif name == "$bucketAuto":
        buckets = _number(spec.get("buckets")) if isinstance(spec, dict) else None
        if buckets is None or buckets > MAX_BUCKETS:
            raise QueryRefusedError(f'$bucketAuto needs a literal "buckets" of at most {MAX_BUCKETS:,}')
    elif name == "$graphLookup":
        depth = _number(spec.get("maxDepth")) if isinstance(spec, dict) else None
        if depth is None or not 0 <= depth <= MAX_GRAPH_DEPTH:
            raise QueryRefusedError(f'$graphLookup needs a literal "maxDepth" between 0 and {MAX_GRAPH_DEPTH}')


def _repeat_after(pattern: str, i: int) -> tuple[bool, int]:
    """Whether a quantifier starting at ``pattern[i]`` repeats more than once, and its length."""
    if i >= len(pattern):
        return False, 0
    if pattern[i] in "*+":
        return True, 1
    if pattern[i] == "?":
        return False, 1
    match = re.match(r"\{\s*(\d*)\s*(,?)\s*(\d*)\s*\}", pattern[i:])  # newer PCRE2 allows the spaces
    if pattern[i] != "{" or match is None or not (match.group(1) or match.group(3)):
        return False, 0  # a "{" that is not a quantifier is a literal
    low, comma, high = match.groups()
    most = int(high) if high else (int(low) if not comma else math.inf)
    return most > 1, match.end()


def _skip_ignored(pattern: str, i: int) -> int:
    """Past what PCRE ignores between an item and its quantifier: ``(?#...)``, ``\\E``, ``\\Q\\E``."""
    while True:
        if pattern.startswith("(?#", i) and pattern.find(")", i) != -1:
            i = pattern.find(")", i) + 1
        elif pattern.startswith("\\E", i):
            i += 2
        elif pattern.startswith("\\Q\\E", i):
            i += 4
        else:
            return i


def regex_problem(pattern: str, options: str = "") -> str | None:
    """Why ``pattern`` with ``options`` is refused (too long, the ``x`` flag, or a repeated group
    holding a quantifier or an alternation), or None. A simple scan that skips what PCRE reads
    as literal: escapes, ``\\Q...\\E``, character classes and ``(?#...)`` comments."""
    if len(pattern) > MAX_REGEX_CHARS:
        return f"A regular expression may have at most {MAX_REGEX_CHARS} characters"
    if "x" in options or _INLINE_EXTENDED.search(pattern):
        return "The x (extended) flag is not allowed in regular expressions"
    risky: list[bool] = []  # per open group: holds a quantifier or an alternation
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            i = n if end == -1 else end + 2
        elif c == "\\":
            i += 2
        elif c == "[":
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += 1 if pattern[i : i + 1] == "]" else 0  # a "]" first in a class is literal
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
        elif pattern.startswith("(?#", i):
            end = pattern.find(")", i)
            i = n if end == -1 else end + 1
        elif c == "(":
            risky.append(False)
            i += 2 if pattern[i + 1 : i + 2] == "?" else 1  # "(?:", "(?i)": not a quantifier
        elif c == ")":
            inner = risky.pop() if risky else False
            i = _skip_ignored(pattern, i + 1)
            repeats, length = _repeat_after(pattern, i)
            if repeats and inner:
                return NESTED_REPETITION
            if risky and (inner or length):
                risky[-1] = True
            i += length
        elif c == "|" or c in "*+?{":
            _, length = _repeat_after(pattern, i) if c != "|" else (False, 1)
            if risky and length:
                risky[-1] = True
            i += max(length, 1)
        else:
            i += 1
    return None


def _literal_string(value: Any) -> str | None:
    """A string constant: plain (a leading "$" would make it a field path) or wrapped in ``$literal``."""
    if isinstance(value, dict) and set(value) == {"$literal"}:
        return value["$literal"] if isinstance(value["$literal"], str) else None
    return value if isinstance(value, str) and not value.startswith("$") else None


def _value_refs(expr: Any, inside: bool = False) -> tuple[int, bool]:
    """How often ``$$value`` occurs in a ``$reduce``'s ``in``, and whether inside a duplicating operator."""
    if isinstance(expr, str):
        hit = expr == "$$value" or expr.startswith("$$value.")
        return int(hit), hit and inside
    items: list[tuple[Any, bool]] = []
    if isinstance(expr, list):
        items = [(item, inside) for item in expr]
    elif isinstance(expr, dict):
        for key, item in expr.items():
            if key == "$reduce" and isinstance(item, dict):
                # A nested $reduce binds its own $$value in "in"; its input and initial value are ours.
                items += [(item.get("input"), inside), (item.get("initialValue"), inside)]
            else:
                items.append((item, inside or key in DUPLICATING))
    count, duplicated = 0, False
    for item, item_inside in items:
        c, d = _value_refs(item, item_inside)
        count, duplicated = count + c, duplicated or d
    return count, duplicated


class _ExpressionWalk:
    def __init__(self) -> None:
        self.range_product = 1

    def regex(self, value: Any, where: str, options: Any = None) -> None:
        """Check one pattern; ``value`` may be a string, a bson ``Regex``, a compiled pattern or
        extended JSON, whose own flags count along with ``options``."""
        if isinstance(value, Regex | re.Pattern):
            flags = value.flags
            options = (options or "") + ("x" if isinstance(flags, int) and flags & re.VERBOSE else str(flags))
            value = value.pattern
        elif isinstance(value, dict) and isinstance(value.get("$regularExpression"), dict):
            inner = value["$regularExpression"]
            options = (options or "") + str(inner.get("options") or "")
            value = inner.get("pattern")
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if not isinstance(value, str) or (where != "$regex" and value.startswith("$")):
            raise QueryRefusedError(f"The pattern of {where} must be a literal regular expression")
        if options is not None and (not isinstance(options, str) or options.startswith("$")):
            raise QueryRefusedError(f"The options of {where} must be a literal string")
        problem = regex_problem(value, options or "")
        if problem:
            raise QueryRefusedError(problem)

    def range(self, args: Any) -> None:
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise QueryRefusedError("$range takes [start, end] or [start, end, step]")
        start, step = _number(args[0]), _number(args[2]) if len(args) == 3 else 1.0
        end_is_size = isinstance(args[1], dict) and set(args[1]) == {"$size"}
        end = _number(args[1])
        if start is None or step is None or (end is None and not end_is_size):
            raise QueryRefusedError('$range needs literal numbers (or {"$size": <array>} as its end)')
        if step == 0:
            raise QueryRefusedError("$range needs a step other than 0")
        count = 1 if end is None else max(0, math.ceil((end - start) / step))
        self.range_product *= max(count, 1)
        if count > MAX_RANGE or self.range_product > MAX_RANGE:
            raise QueryRefusedError(
                f"$range may make at most {MAX_RANGE:,} numbers, counting the ranges of one stage together"
            )

    def visit(self, value: Any) -> None:
        if isinstance(value, Regex | re.Pattern):
            self.regex(value, "a regular expression")
        elif isinstance(value, list):
            for item in value:
                self.visit(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.operator(key, item, value)
                self.visit(item)

    def operator(self, key: Any, item: Any, parent: dict[Any, Any]) -> None:
        if key == "$regex":
            self.regex(item, key, parent.get("$options"))  # {"field": {"$regex": ..., "$options": ...}}
        elif key == "$regularExpression":
            self.regex({key: item}, key)
        elif key in REGEX_EXPRESSIONS:
            spec = item if isinstance(item, dict) else {}
            self.regex(spec.get("regex"), key, spec.get("options"))
        elif key == "$range":
            self.range(item)
        elif key == "$reduce" and isinstance(item, dict):
            count, duplicated = _value_refs(item.get("in"))
            if count > 1 or duplicated:
                raise QueryRefusedError(
                    '$reduce may use "$$value" only once in "in", and not inside $map, $let or $replaceAll: '
                    "a value that doubles per element explodes; use $max, $min, $sum or $concatArrays instead"
                )
        elif key == "$replaceAll" and isinstance(item, dict):
            find, replacement = _literal_string(item.get("find")), _literal_string(item.get("replacement"))
            if not find or replacement is None:
                raise QueryRefusedError('$replaceAll needs a non-empty literal "find" and a literal "replacement"')
            if len(replacement) > max(REPLACEMENT_GROWTH * len(find), MIN_REPLACEMENT_CHARS):
                raise QueryRefusedError(f'$replaceAll "replacement" may be at most {REPLACEMENT_GROWTH} times "find"')


def check_expression_costs(pipeline: Any) -> None:
    """Raise ``QueryRefusedError`` when an expression or filter anywhere in ``pipeline`` exceeds a
    cap above (regular expressions, ``$range``, ``$reduce``, ``$replaceAll``). The caller has
    already bounded the nesting depth, so the recursion is bounded."""
    for stage in pipeline if isinstance(pipeline, list) else [pipeline]:
        # Ranges multiply within a stage (a $map over a $range building ranges); stages run one after another.
        _ExpressionWalk().visit(stage)
