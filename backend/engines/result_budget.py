"""The result budget both engines' runners honour: a row cap, a byte budget for the values
kept, a cap on each value (cut with ``CUT_MARK``), and a bound on what is read before cutting.

A runner fetches in batches of ``ResultCollector.wanted()`` rows and stops as soon as ``add``
answers False, so a huge result is never fetched, let alone held.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from backend.engines.base import JsonValue, QueryLimits, QueryResult

CUT_MARK = "… [cut]"
# A result stops once this many times max_bytes have been read (values before cutting), and
# one fetch asks for about BATCH_BYTES of rows: a row of huge values comes one at a time.
READ_FACTOR = 4
BATCH_BYTES = 1_000_000


def cap_value(value: JsonValue, max_bytes: int) -> tuple[JsonValue, int, bool]:
    """``(value, its JSON size in bytes, whether it was cut)`` for one JSON-safe value.

    A value whose JSON is longer than ``max_bytes`` becomes a string of at most
    ``max_bytes`` bytes ending in ``CUT_MARK``: text is cut, an array or object is
    replaced by its cut JSON text. Anything shorter comes back unchanged.
    """
    if value is None or isinstance(value, bool | int | float):
        return value, 8, False
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) + 2 <= max_bytes:
            return value, len(raw) + 2, False
    else:
        raw = json.dumps(value, ensure_ascii=False).encode()
        if len(raw) <= max_bytes:
            return value, len(raw), False
    keep = max(max_bytes - len(CUT_MARK.encode()) - 2, 0)
    cut = raw[:keep].decode(errors="ignore") + CUT_MARK
    return cut, len(cut.encode()) + 2, True


class ResultCollector:
    """Gathers rows while they are fetched and stops at the row cap or the byte budget.

    ``add`` takes one JSON-safe row and answers False once no more rows are wanted, so a
    runner stops fetching there: a result never holds more than ``max_bytes`` of values
    (plus the one row that crossed the line, which is dropped).
    """

    def __init__(self, limits: QueryLimits):
        self._limits = limits
        self.rows: list[list[JsonValue]] = []
        self.bytes = 0
        self.raw_bytes = 0
        self.values_cut = 0
        self.cut_at_bytes = False
        self.cut_at_rows = False
        self.cut_at_read = False

    @property
    def full(self) -> bool:
        return self.cut_at_rows or self.cut_at_bytes or self.cut_at_read

    def add(self, row: Sequence[JsonValue], cut: int = 0) -> bool:
        """Keep one JSON-safe row (``cut`` of its values were already cut upstream); False once full."""
        if self.full:
            return False
        if len(self.rows) >= self._limits.max_rows:
            self.cut_at_rows = True
            return False
        capped: list[JsonValue] = []
        size = 2
        raw = 2
        for value in row:
            kept, value_size, was_cut = cap_value(value, self._limits.max_value_bytes)
            capped.append(kept)
            size += value_size + 1
            raw += (len(value) + 3 if isinstance(value, str) else value_size + 1) if was_cut else value_size + 1
            cut += was_cut
        if self.bytes + size > self._limits.max_bytes:
            self.cut_at_bytes = True
            return False
        self.rows.append(capped)
        self.bytes += size
        self.raw_bytes += raw
        self.values_cut += cut
        if self.raw_bytes > READ_FACTOR * self._limits.max_bytes:
            self.cut_at_read = True  # enough read: long values are being cut, more rows add little
        return True

    def wanted(self) -> int:
        """How many rows the next fetch should ask for: one while rows are big, up to 64."""
        if not self.rows:
            return 1
        average = max(self.raw_bytes // len(self.rows), 1)
        left_rows = self._limits.max_rows - len(self.rows) + 1
        return max(1, min(64, left_rows, BATCH_BYTES // average))

    def result(self, columns: list[str]) -> QueryResult:
        reasons: list[str] = []
        if self.cut_at_rows:
            reasons.append(f"only the first {self._limits.max_rows} rows were fetched")
        if self.cut_at_bytes:
            reasons.append(f"the result was cut at {self._limits.max_bytes:,} bytes after {len(self.rows)} rows")
        if self.cut_at_read:
            reasons.append(
                f"only {len(self.rows)} rows were read: their values came to more than "
                f"{READ_FACTOR * self._limits.max_bytes:,} bytes before cutting"
            )
        if self.values_cut:
            reasons.append(f"{self.values_cut} values longer than {self._limits.max_value_bytes:,} bytes were cut")
        return QueryResult(
            columns=columns,
            rows=self.rows,
            truncated=self.full or self.values_cut > 0,
            truncation="; ".join(reasons) or None,
        )
