"""The login page stays small: the JavaScript a signed-out first visit downloads (the built
frontend's entry chunk, measured by bench/bench_bundle.py) is under a budget, and none of the
heavy libraries of the signed-in screens is in it.

The budget is 110 KiB of gzip JavaScript. At the time of writing the login visit is 85 KiB:
React and React DOM (about 60), the router, and the app's shell with the login form. The 25
KiB of headroom lets the shell grow and take a small shared library (a fetch cache such as
TanStack Query is about 13 KiB) without tripping, while any one of the libraries that must
stay in their own chunks would break it on its own: react-markdown with its parser is about
40 KiB, CodeMirror over 100, ECharts several hundred; the markers below catch the smaller
ones (the result table) by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_bundle import DIST, ENTRY, file_size, load_manifest, run, static_closure

LOGIN_JS_GZIP_BUDGET = 110 * 1024
# Strings each library's minified code keeps (class names, attribute names, module names).
HEAVY_MARKERS = {
    "react-markdown": "micromark",
    "@tanstack/react-table": "getCoreRowModel",
    "ECharts": "_echarts_instance_",
    "CodeMirror": "cm-editor",
    "React Flow": "react-flow__",
    "elkjs": "org.eclipse.elk",
}


@pytest.fixture(scope="module")
def login_js() -> list[Path]:
    assert (DIST / ".vite" / "manifest.json").is_file(), "build the frontend first (npm run build)"
    manifest = load_manifest()
    return [DIST / manifest[key]["file"] for key in static_closure(manifest, [ENTRY])]


def test_the_login_visit_is_under_its_gzip_budget(login_js: list[Path]) -> None:
    total = sum(file_size(path).gzip for path in login_js)
    assert 0 < total <= LOGIN_JS_GZIP_BUDGET, f"the login page loads {total} bytes of gzip JS"
    report = run()
    assert report["routes"]["login"]["first_visit_js_gzip"] == total
    # The budget refuses what it is for: the login page carrying the chat screen's libraries.
    assert report["routes"]["chat"]["first_visit_js_gzip"] > LOGIN_JS_GZIP_BUDGET
    # Every signed-in screen costs more than the login page: its code is in its own chunk.
    for name, route in report["routes"].items():
        if name != "login":
            assert route["first_visit_js_gzip"] > total, name


def test_no_heavy_library_is_in_the_login_chunks(login_js: list[Path]) -> None:
    text = "".join(path.read_text(encoding="utf-8", errors="replace") for path in login_js)
    assert [lib for lib, marker in HEAVY_MARKERS.items() if marker in text] == []
    # The markers mean something: the build holds the Markdown and table code, elsewhere.
    everything = "".join(path.read_text(errors="replace") for path in (DIST / "assets").glob("*.js"))
    assert HEAVY_MARKERS["react-markdown"] in everything and HEAVY_MARKERS["@tanstack/react-table"] in everything
