"""Run every benchmark and rewrite docs/BENCHMARKS.md with the numbers (``make bench``)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHES = [
    "bench.bench_embedding",
    "bench.bench_index_search",
    "bench.bench_ask",
    "bench.bench_answer_cache",
    "bench.bench_load",
    "bench.bench_replicas",
    "bench.bench_result_memory",
    "bench.bench_login_flood",
    "bench.bench_bundle",
    "bench.bench_evaluation",
]


def _run(module: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", module], cwd=ROOT, check=True, capture_output=True, text=True, env=os.environ
    ).stdout
    result: dict[str, Any] = json.loads(out[out.index("{") :])
    return result


def main() -> int:
    results = {module: _run(module) for module in BENCHES}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    path = ROOT / "bench" / "results" / "latest.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(), "machine": machine, **results}, indent=2))
    print(json.dumps(results, indent=2))
    print(f"\nraw results in {path}; copy the numbers into docs/BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
