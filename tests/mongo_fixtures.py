"""MongoDB for the tests: a real mongod when ``MONGO_URL`` is set (or Docker and
testcontainers are available), else the ``nx-27017`` wire-protocol server in a subprocess.
Either way the traffic is real pymongo over the wire. Loads the public samples from
../shared/data/mongodb and the ``shop`` dataset below."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymongo
from bson import ObjectId, json_util

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "data" / "mongodb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mongo_server(tmp: Path) -> Iterator[str]:
    """Yields a ``mongodb://`` URL with no database, to a server the tests may fill."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    if os.path.exists("/var/run/docker.sock"):
        try:
            from testcontainers.mongodb import MongoDbContainer  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            with MongoDbContainer("mongo:7.0") as container:
                yield str(container.get_connection_url())
            return
    port = _free_port()
    executable = shutil.which("nx-27017") or str(Path(sys.executable).parent / "nx-27017")
    process = subprocess.Popen(
        [executable, "--data-dir", str(tmp / "nx"), "--port", str(port), "--log-file", str(tmp / "nx.log"),
         "--pid-file", str(tmp / "nx.pid")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"mongodb://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pymongo.MongoClient(url, serverSelectionTimeoutMS=500).admin.command("ping")
                break
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("nx-27017 did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def shop_documents() -> dict[str, list[dict[str, Any]]]:
    """A small shop: references by ObjectId, nested documents, arrays of documents, mixed types."""
    customers = [
        {"_id": ObjectId(), "name": "Ada", "email": "ada@example.com", "tier": "gold",
         "address": {"city": "London", "geo": {"lat": 51.5, "lon": -0.1}}},
        {"_id": ObjectId(), "name": "Grace", "email": "grace@example.com", "tier": "silver",
         "address": {"city": "New York", "geo": {"lat": 40.7, "lon": -74.0}}},
        {"_id": ObjectId(), "name": "Alan", "tier": "gold", "address": {"city": "London"}},
    ]  # fmt: skip
    orders = []
    for i in range(30):
        customer = customers[i % 3]
        orders.append(
            {
                "_id": ObjectId(),
                "customer_id": customer["_id"],
                "status": ["new", "paid", "shipped"][i % 3],
                "total": (i * 7) % 50 + 0.5 if i % 5 else str((i * 7) % 50),  # mixed: number or string
                "placed_at": dt.datetime(2026, 1 + i % 9, 1 + i % 27),
                "items": [{"sku": f"SKU-{j}", "qty": j + 1, "price": 2.5 * (j + 1)} for j in range(1 + i % 3)],
                "tags": ["gift"] if i % 4 == 0 else [],
            }
        )
    deep: dict[str, Any] = {"level": 10}
    for level in range(9, 0, -1):
        deep = {"level": level, "child": deep}
    return {
        "customers": customers,
        "orders": orders,
        "events": [{"_id": 1, "payload": deep, "blob": "x" * 50_000}],
        "empty": [],
    }


def load(url: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url)
    for database in ("sample_analytics", "sample_mflix"):
        for path in sorted((SAMPLES / database).glob("*.json")):
            collection = client[database][path.stem]
            collection.drop()
            docs = [json_util.loads(line) for line in path.read_text().splitlines() if line.strip()]
            collection.insert_many(docs)
    shop = client["shop"]
    for name, docs in shop_documents().items():
        shop[name].drop()
        if docs:
            shop[name].insert_many(docs)
        else:
            shop.create_collection(name)
    client.close()


def fingerprint(url: str) -> dict[str, Any]:
    """Count and content of every collection of the test databases."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url)
    state: dict[str, Any] = {}
    for database in ("sample_analytics", "sample_mflix", "shop"):
        names = sorted(client[database].list_collection_names())
        state[f"{database}/collections"] = names
        for name in names:
            docs = sorted(json_util.dumps(d, sort_keys=True) for d in client[database][name].find())
            state[f"{database}.{name}"] = (len(docs), hash(tuple(docs)))
    client.close()
    return state
