"""Write the backend's OpenAPI schema as stable JSON (sorted keys) for the frontend's generated types.

``cd frontend && npm run gen:api`` runs this, then openapi-typescript; ``npm run check:api``
(part of ``make test``) fails when the committed ``frontend/openapi.json`` or the types
generated from it no longer match the backend.

The app is built but its lifespan never starts: no store, no embedding service, no secrets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.main import create_app  # noqa: E402


def openapi_json() -> str:
    # A frontend directory that never exists: the schema must not depend on whether the web app is built.
    settings = Settings(frontend_dir=ROOT / "frontend" / "does-not-exist")
    schema = create_app(settings).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the backend's OpenAPI schema as stable JSON.")
    parser.add_argument("--out", type=Path, default=ROOT / "frontend" / "openapi.json", help="where to write it")
    args = parser.parse_args()
    args.out.write_text(openapi_json(), encoding="utf-8")


if __name__ == "__main__":
    main()
