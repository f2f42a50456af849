"""Everyday pipelines over the public samples that the Mongo guard must let through: the other
half of ``adversarial_mongo``. Each comes with what it must return, computed here in Python
from the sample files, or None where the nx-27017 wire server lacks the feature (then only
"not refused" is checked; a real mongod would run it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bson import json_util

from tests import mongo_fixtures

Docs = list[dict[str, Any]]
Samples = dict[str, Docs]  # "sample_analytics.accounts" -> its documents as loaded
Rows = list[dict[str, Any]]  # what the runner returned, one dict per row

A, C = "sample_analytics.accounts", "sample_analytics.customers"
T, U = "sample_mflix.theaters", "sample_mflix.users"


def load_samples() -> Samples:
    """The documents ``mongo_fixtures.load`` puts in the sample databases."""
    out: Samples = {}
    for database in ("sample_analytics", "sample_mflix"):
        for path in sorted((mongo_fixtures.SAMPLES / database).glob("*.json")):
            lines = path.read_text().splitlines()
            out[f"{database}.{path.stem}"] = [json_util.loads(line) for line in lines if line.strip()]
    return out


@dataclass(frozen=True)
class Everyday:
    query: dict[str, Any]
    check: Callable[[Rows, Samples], bool] | None


def _pipeline(collection: str, *stages: dict[str, Any]) -> dict[str, Any]:
    return {"collection": collection, "pipeline": list(stages)}


def _count(docs: Docs, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [{"n": sum(1 for d in docs if keep(d))}]


def _state(theater: dict[str, Any]) -> str:
    return str(theater["location"]["address"]["state"])


def _existing_limits(s: Samples) -> set[int]:
    return {a["limit"] for a in s[A]}


PRODUCTS = ["Commodity", "Brokerage"]
EVERYDAY: list[Everyday] = [
    Everyday(
        _pipeline(A, {"$match": {"limit": {"$gte": 9000}}}, {"$count": "n"}),
        lambda r, s: r == _count(s[A], lambda a: a["limit"] >= 9000),
    ),
    Everyday(
        _pipeline(
            A,
            {
                "$match": {
                    "$and": [
                        {"limit": {"$gte": 8000}},
                        {"$or": [{"products": {"$in": PRODUCTS}}, {"products": {"$size": 6}}]},
                    ]
                }
            },
            {"$count": "n"},
        ),
        lambda r, s: r == _count(s[A], lambda a: a["limit"] >= 8000 and bool(set(a["products"]) & set(PRODUCTS))),
    ),
    Everyday(
        _pipeline(C, {"$match": {"email": {"$regex": "@gmail\\.com$"}}}, {"$count": "n"}),
        lambda r, s: r == _count(s[C], lambda c: c["email"].endswith("@gmail.com")),
    ),
    Everyday(
        _pipeline(
            C,
            {"$match": {"name": {"$regex": "^eli", "$options": "i"}}},
            {"$project": {"_id": 0, "username": 1}},
            {"$sort": {"username": 1}},
        ),
        lambda r, s: (
            r == [{"username": u} for u in sorted(c["username"] for c in s[C] if c["name"][:3].lower() == "eli")]
        ),
    ),
    Everyday(
        _pipeline(A, {"$unwind": "$products"}, {"$group": {"_id": "$products", "n": {"$sum": 1}}}),
        lambda r, s: {x["_id"]: x["n"] for x in r} == Counter(p for a in s[A] for p in a["products"]),
    ),
    Everyday(
        _pipeline(A, {"$group": {"_id": None, "avg": {"$avg": "$limit"}, "low": {"$min": "$limit"}}}),
        lambda r, s: (
            r[0]["low"] == min(_existing_limits(s))
            and abs(r[0]["avg"] - sum(a["limit"] for a in s[A]) / len(s[A])) < 1e-6
        ),
    ),
    Everyday(
        _pipeline(
            T,
            {"$group": {"_id": "$location.address.state", "n": {"$sum": 1}}},
            {"$sort": {"n": -1, "_id": 1}},
            {"$limit": 5},
        ),
        lambda r, s: (
            [(x["_id"], x["n"]) for x in r]
            == sorted(Counter(_state(t) for t in s[T]).items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        ),
    ),
    Everyday(
        _pipeline(
            T,
            {"$match": {"location.address.state": "MN"}},
            {"$project": {"_id": 0, "city": "$location.address.city"}},
            {"$sort": {"city": 1}},
        ),
        lambda r, s: (
            [x["city"] for x in r] == sorted(t["location"]["address"]["city"] for t in s[T] if _state(t) == "MN")
        ),
    ),
    Everyday(
        _pipeline(
            U,
            {"$project": {"domain": {"$arrayElemAt": [{"$split": ["$email", "@"]}, 1]}}},
            {"$group": {"_id": "$domain", "n": {"$sum": 1}}},
        ),
        lambda r, s: {x["_id"]: x["n"] for x in r} == Counter(u["email"].split("@")[1] for u in s[U]),
    ),
    Everyday(
        _pipeline(
            U,
            {"$match": {"name": {"$in": ["Ned Stark", "Catelyn Stark"]}}},
            {"$project": {"_id": 0, "shout": {"$toUpper": "$name"}, "chars": {"$strLenCP": "$name"}}},
            {"$sort": {"chars": 1}},
        ),
        lambda r, s: r == [{"shout": "NED STARK", "chars": 9}, {"shout": "CATELYN STARK", "chars": 13}],
    ),
    Everyday(
        _pipeline(
            C,
            {"$match": {"username": "fmiller"}},
            {"$unwind": "$accounts"},
            {"$lookup": {"from": "accounts", "localField": "accounts", "foreignField": "account_id", "as": "a"}},
            {"$project": {"_id": 0, "account": "$accounts", "n": {"$size": "$a"}}},
        ),
        lambda r, s: (
            {x["account"]: x["n"] for x in r}
            == {
                n: int(n in {a["account_id"] for a in s[A]})
                for n in next(c for c in s[C] if c["username"] == "fmiller")["accounts"]
            }
        ),
    ),
    Everyday(
        _pipeline(
            T,
            {
                "$facet": {
                    "states": [{"$group": {"_id": "$location.address.state"}}, {"$count": "n"}],
                    "mn": [{"$match": {"location.address.state": "MN"}}, {"$count": "n"}],
                }
            },
        ),
        lambda r, s: (
            r[0]["states"] == [{"n": len({_state(t) for t in s[T]})}]
            and r[0]["mn"] == [{"n": sum(_state(t) == "MN" for t in s[T])}]
        ),
    ),
    Everyday(
        _pipeline(A, {"$bucket": {"groupBy": "$limit", "boundaries": [0, 5000, 9000, 10001]}}),
        lambda r, s: (
            {x["_id"]: x["count"] for x in r}
            == Counter(0 if a["limit"] < 5000 else 5000 if a["limit"] < 9000 else 9000 for a in s[A])
        ),
    ),
    Everyday(
        _pipeline(A, {"$bucketAuto": {"groupBy": "$account_id", "buckets": 4}}),
        lambda r, s: len(r) == 4 and sum(x["count"] for x in r) == len(s[A]),
    ),
    Everyday(
        _pipeline(A, {"$sample": {"size": 5}}, {"$project": {"_id": 0, "account_id": 1}}),
        lambda r, s: (
            len({x["account_id"] for x in r}) == 5
            and all(x["account_id"] in {a["account_id"] for a in s[A]} for x in r)
        ),
    ),
    Everyday(
        _pipeline(
            A,
            {"$densify": {"field": "limit", "range": {"step": 1000, "bounds": [0, 5000]}}},
            {"$match": {"account_id": {"$exists": False}}},
            {"$project": {"_id": 0, "limit": 1}},
        ),
        lambda r, s: sorted(x["limit"] for x in r) == sorted({0, 1000, 2000, 3000, 4000} - _existing_limits(s)),
    ),
    Everyday(
        _pipeline(
            A, {"$sort": {"account_id": 1}}, {"$skip": 3}, {"$limit": 4}, {"$project": {"_id": 0, "account_id": 1}}
        ),
        lambda r, s: [x["account_id"] for x in r] == sorted(a["account_id"] for a in s[A])[3:7],
    ),
    Everyday(
        _pipeline(A, {"$addFields": {"np": {"$size": "$products"}}}, {"$match": {"np": {"$gte": 4}}}, {"$count": "n"}),
        lambda r, s: r == _count(s[A], lambda a: len(a["products"]) >= 4),
    ),
    Everyday(
        _pipeline(
            C,
            {"$project": {"_id": 0, "year": {"$year": "$birthdate"}}},
            {"$match": {"year": {"$gte": 1990}}},
            {"$count": "n"},
        ),
        lambda r, s: r == _count(s[C], lambda c: c["birthdate"].year >= 1990),
    ),
    Everyday(
        _pipeline(
            A,
            {
                "$graphLookup": {
                    "from": "accounts",
                    "startWith": "$account_id",
                    "connectFromField": "account_id",
                    "connectToField": "account_id",
                    "as": "same",
                    "maxDepth": 1,
                }
            },
            {"$project": {"_id": 0, "n": {"$size": "$same"}}},
            {"$limit": 3},
        ),
        lambda r, s: r == [{"n": 1}] * 3,
    ),
    Everyday(
        _pipeline(
            A,
            {"$setWindowFields": {"sortBy": {"account_id": 1}, "output": {"rank": {"$rank": {}}}}},
            {"$sort": {"account_id": 1}},
            {"$limit": 2},
            {"$project": {"_id": 0, "rank": 1}},
        ),
        lambda r, s: r == [{"rank": 1}, {"rank": 2}],
    ),
    Everyday(
        _pipeline(A, {"$unionWith": {"coll": "customers", "pipeline": [{"$limit": 2}]}}, {"$count": "n"}),
        lambda r, s: r == [{"n": len(s[A]) + 2}],
    ),
    Everyday(
        _pipeline(
            U,
            {"$match": {"$expr": {"$regexMatch": {"input": "$name", "regex": "^N"}}}},
            {"$project": {"_id": 0, "name": 1}},
        ),
        lambda r, s: sorted(x["name"] for x in r) == sorted(u["name"] for u in s[U] if u["name"].startswith("N")),
    ),
    Everyday(
        _pipeline(
            U,
            {"$match": {"name": "Ned Stark"}},
            {"$project": {"_id": 0, "slug": {"$replaceAll": {"input": "$name", "find": " ", "replacement": "_"}}}},
        ),
        lambda r, s: r == [{"slug": "Ned_Stark"}],
    ),
    Everyday(
        {
            "collection": T,
            "filter": {"location.address.state": "MN"},
            "sort": {"theaterId": 1},
            "limit": 3,
            "projection": {"_id": 0, "theaterId": 1},
        },
        lambda r, s: [x["theaterId"] for x in r] == sorted(t["theaterId"] for t in s[T] if _state(t) == "MN")[:3],
    ),
    Everyday(
        _pipeline(
            A,
            {"$addFields": {"band": {"$cond": [{"$gte": ["$limit", 10000]}, "high", "low"]}}},
            {"$group": {"_id": "$band", "n": {"$sum": 1}}},
        ),
        lambda r, s: {x["_id"]: x["n"] for x in r} == Counter("high" if a["limit"] >= 10000 else "low" for a in s[A]),
    ),
    Everyday(
        _pipeline(A, {"$fill": {"output": {"limit": {"value": 0}}}}, {"$count": "n"}),
        lambda r, s: r == [{"n": len(s[A])}],
    ),
    # The wire server lacks these; a real mongod runs them.
    Everyday(
        _pipeline(
            C,
            {
                "$lookup": {
                    "from": "accounts",
                    "let": {"ids": "$accounts"},
                    "as": "a",
                    "pipeline": [
                        {"$match": {"$expr": {"$in": ["$account_id", "$$ids"]}}},
                        {
                            "$lookup": {
                                "from": "customers",
                                "localField": "account_id",
                                "foreignField": "accounts",
                                "as": "owners",
                            }
                        },
                    ],
                }
            },
        ),
        None,
    ),
    Everyday(
        _pipeline(A, {"$project": {"x": {"$map": {"input": {"$range": [0, 10]}, "in": {"$multiply": ["$$this", 2]}}}}}),
        None,
    ),
    Everyday(
        _pipeline(A, {"$project": {"i": {"$range": [0, {"$size": "$products"}]}}}, {"$sortByCount": {"$size": "$i"}}),
        None,
    ),
    Everyday(
        _pipeline(
            C,
            {
                "$densify": {
                    "field": "birthdate",
                    "range": {
                        "step": 1,
                        "unit": "month",
                        "bounds": [{"$date": "2020-01-01T00:00:00Z"}, {"$date": "2021-01-01T00:00:00Z"}],
                    },
                }
            },
        ),
        None,
    ),
    Everyday(
        _pipeline(
            U,
            {
                "$project": {
                    "initials": {
                        "$reduce": {
                            "input": {"$split": ["$name", " "]},
                            "initialValue": "",
                            "in": {"$concat": ["$$value", {"$substrCP": ["$$this", 0, 1]}]},
                        }
                    }
                }
            },
            {"$set": {"ok": True}},
        ),
        None,
    ),
]
