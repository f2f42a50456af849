"""Bytes of JavaScript and CSS a first visit to each screen downloads, from the Vite build.

Reads ``frontend/dist/.vite/manifest.json`` (``build.manifest`` in vite.config.ts). A route's
first visit loads the entry chunk (``index.html``'s script: React, the router, the shell and
the login page), the route's page chunk, every chunk those import statically (Vite preloads
them), and their CSS. Chunks a page imports dynamically (a chart or an editor fetched when
first shown) are listed apart as "on demand". "login" is the entry alone: the login page is in
it, and a signed-out visit renders no other page. "Whole app" is every .js and .css file the
build emitted. gzip is level 5, what nginx/conf/sextant-locations.conf serves
(``gzip_comp_level 5``); raw is the file on disk.

``python -m bench.bench_bundle`` builds the frontend first (``npm run build``);
``--no-build`` measures the dist/ that is there.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
ENTRY = "index.html"
GZIP_LEVEL = 5
PAGE = re.compile(r"^src/pages/(\w+)Page\.tsx$")
# Where each screen lives: the chunk of src/pages/<Name>Page.tsx is the route /<path>.
PATHS = {"Login": "/login", "Dashboard": "/", "Connections": "/connections", "Chat": "/chat", "Settings": "/settings",
         "Admin": "/admin"}  # fmt: skip


@dataclass(frozen=True)
class Size:
    raw: int = 0
    gzip: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(self.raw + other.raw, self.gzip + other.gzip)


def file_size(path: Path) -> Size:
    data = path.read_bytes()
    return Size(len(data), len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)))


def load_manifest(dist: Path = DIST) -> dict[str, Any]:
    path = dist / ".vite" / "manifest.json"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: build the frontend (cd frontend && npm run build)")
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def static_closure(manifest: dict[str, Any], keys: list[str]) -> list[str]:
    """The chunks ``keys`` load at once: themselves and what they import statically, in order."""
    seen: list[str] = []
    stack = list(reversed(keys))
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.append(key)
        stack.extend(reversed(manifest[key].get("imports", [])))
    return seen


def files_of(manifest: dict[str, Any], chunks: list[str]) -> tuple[list[str], list[str]]:
    """The JS files and the CSS files of ``chunks`` (no file twice)."""
    js = list(dict.fromkeys(manifest[c]["file"] for c in chunks))
    css = list(dict.fromkeys(f for c in chunks for f in manifest[c].get("css", [])))
    return js, css


def measure(files: list[str], dist: Path) -> Size:
    return sum((file_size(dist / f) for f in files), Size())


def route_chunks(manifest: dict[str, Any]) -> dict[str, str | None]:
    """Route name -> its page chunk's manifest key (None: the page is in the entry chunk)."""
    routes: dict[str, str | None] = {"login": None}
    for key in manifest[ENTRY].get("dynamicImports", []):
        match = PAGE.match(key)
        if match:
            routes[match.group(1).lower()] = key
    return routes


def on_demand(manifest: dict[str, Any], loaded: list[str]) -> list[str]:
    """Chunks the loaded ones import dynamically, other than pages (each its own route)."""
    found: list[str] = []
    stack = [d for c in loaded for d in manifest[c].get("dynamicImports", []) if not PAGE.match(d)]
    while stack:
        key = stack.pop()
        if key in found or key in loaded:
            continue
        found.append(key)
        for child in static_closure(manifest, [key]):
            if child not in found and child not in loaded:
                found.append(child)
            stack.extend(d for d in manifest[child].get("dynamicImports", []) if not PAGE.match(d))
    return found


def run(dist: Path = DIST) -> dict[str, Any]:
    manifest = load_manifest(dist)
    assets = sorted(p for p in (dist / "assets").iterdir() if p.suffix in (".js", ".css"))
    whole_js = sum((file_size(p) for p in assets if p.suffix == ".js"), Size())
    whole_css = sum((file_size(p) for p in assets if p.suffix == ".css"), Size())
    whole = whole_js + whole_css
    routes: dict[str, Any] = {}
    for name, page in route_chunks(manifest).items():
        chunks = static_closure(manifest, [ENTRY] + ([page] if page else []))
        js, css = files_of(manifest, chunks)
        first = measure(js, dist) + measure(css, dist)
        later_js, later_css = files_of(manifest, on_demand(manifest, chunks))
        later = measure(later_js, dist) + measure(later_css, dist)
        routes[name] = {
            "path": PATHS.get(name.capitalize(), f"/{name}"),
            "first_visit_js_raw": measure(js, dist).raw,
            "first_visit_js_gzip": measure(js, dist).gzip,
            "first_visit_css_gzip": measure(css, dist).gzip,
            "first_visit_raw": first.raw,
            "first_visit_gzip": first.gzip,
            "files": js + css,
            "on_demand_raw": later.raw,
            "on_demand_gzip": later.gzip,
            "on_demand_files": later_js + later_css,
        }
    login = routes["login"]
    return {
        "gzip_level": GZIP_LEVEL,
        "routes": routes,
        "whole_app_js_raw": whole_js.raw,
        "whole_app_js_gzip": whole_js.gzip,
        "whole_app_raw": whole.raw,
        "whole_app_gzip": whole.gzip,
        "login_to_whole_app_gzip": round(login["first_visit_gzip"] / whole.gzip, 3),
        "login_to_whole_app_raw": round(login["first_visit_raw"] / whole.raw, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="measure the existing frontend/dist")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True, stdout=sys.stderr)
    json.dump(run(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
