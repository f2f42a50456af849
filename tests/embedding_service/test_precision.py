"""bfloat16 is chosen only where the CPU computes it natively, and gives the float32 vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedding_service.config import bundled_model_path
from embedding_service.embedder import Embedder
from embedding_service.precision import cpu_flags, resolve

AMX = "fpu vme avx2 avx512f amx_bf16 amx_tile"
PLAIN = "fpu vme sse4_2 avx2 avx512f avx512bw"


@pytest.mark.parametrize(
    ("precision", "device", "flags", "expected"),
    [
        ("auto", "cpu", AMX, "bfloat16"),
        ("auto", "cpu", "fpu avx512_bf16", "bfloat16"),
        ("auto", "cpu", PLAIN, "float32"),  # emulated bfloat16 is slower than float32
        ("auto", "cpu", "", "float32"),
        ("auto", "cuda", AMX, "float32"),
        ("float32", "cpu", AMX, "float32"),
        ("bfloat16", "cpu", PLAIN, "bfloat16"),  # an explicit choice is kept
    ],
)
def test_resolve(precision: str, device: str, flags: str, expected: str) -> None:
    assert resolve(precision, device, lambda: frozenset(flags.split())) == expected  # type: ignore[arg-type]


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {AMX}\nbugs\t\t: spectre_v1\n")
    assert cpu_flags(info) == frozenset(AMX.split())
    assert cpu_flags(tmp_path / "absent") == frozenset()


def test_bfloat16_vectors_match_float32_and_rank_alike() -> None:
    texts = [
        "table rental. columns: rental id, rental date, inventory id, customer id, return date",
        "table payment. columns: payment id, customer id, staff id, amount, payment date",
        "table film category. columns: film id, category id. refers to film, category",
        "which customers rented films last month",
        "total payments per staff member",
    ]
    full = Embedder(bundled_model_path(), "m", precision="float32")
    half = Embedder(bundled_model_path(), "m", precision="bfloat16")
    assert (full.precision, half.precision) == ("float32", "bfloat16")
    a, b = full.embed(texts), half.embed(texts)
    for x, y in zip(a, b, strict=True):
        assert sum(p * q for p, q in zip(x, y, strict=True)) > 0.999

    def nearest(vectors: list[list[float]], question: int) -> int:
        scores = [sum(p * q for p, q in zip(vectors[question], v, strict=True)) for v in vectors[:3]]
        return scores.index(max(scores))

    assert [nearest(a, 3), nearest(a, 4)] == [nearest(b, 3), nearest(b, 4)] == [0, 1]
