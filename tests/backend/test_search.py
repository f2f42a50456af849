"""Search relevance on the real sample databases, through the API, with the real model."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login


def _search(client: TestClient, headers: dict[str, str], cid: str, query: str, k: int = 5) -> list[dict[str, Any]]:
    response = client.post(f"/api/connections/{cid}/search", json={"query": query, "k": k}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


@pytest.fixture
def indexed(client: TestClient, sakila_url: str, chinook_url: str, northwind_url: str) -> dict[str, Any]:
    headers = register_and_login(client)
    ids = {
        name: connect(client, headers, url)["id"]
        for name, url in (("sakila", sakila_url), ("chinook", chinook_url), ("northwind", northwind_url))
    }
    return {"headers": headers, **ids}


# (database, question, objects that must be among the search hits (via=search) in the top k)
QUESTIONS = [
    ("sakila", "which customers rented films last month", {"public.rental", "public.customer"}),
    ("sakila", "which actors played in the most films", {"public.actor", "public.film_actor"}),
    ("sakila", "total payments received per staff member", {"public.payment", "public.staff"}),
    ("sakila", "how many films are in each category", {"public.category", "public.film_category"}),
    ("sakila", "list the cities in Canada", {"public.city", "public.country"}),
    ("chinook", "which artists have released the most albums", {"public.artist", "public.album"}),
    ("chinook", "top selling tracks by invoice lines", {"public.track", "public.invoice_line"}),
    ("chinook", "employees who support customers", {"public.employee", "public.customer"}),
    ("chinook", "tracks per music genre", {"public.track", "public.genre"}),
    ("northwind", "products supplied by each supplier", {"public.products", "public.suppliers"}),
    ("northwind", "orders shipped by each shipper", {"public.orders", "public.shippers"}),
    ("northwind", "sales per product category", {"public.categories", "public.products"}),
    ("northwind", "territories assigned to employees", {"public.territories", "public.employee_territories"}),
]


def test_search_finds_the_tables_a_question_needs(client: TestClient, indexed: dict[str, Any]) -> None:
    misses = []
    for database, question, expected in QUESTIONS:
        results = _search(client, indexed["headers"], indexed[database], question)
        found = {r["object"] for r in results}
        if not expected <= found:
            misses.append((database, question, sorted(expected - found), [r["object"] for r in results]))
    assert not misses, misses


def test_acceptance_question_on_sakila(client: TestClient, indexed: dict[str, Any]) -> None:
    results = _search(client, indexed["headers"], indexed["sakila"], "which customers rented films last month", k=5)
    direct = [r["object"] for r in results if r["via"] == "search"]
    assert len(direct) == 5
    assert {"public.rental", "public.customer"} <= set(direct)
    assert all(0 < r["score"] <= 1 for r in results if r["via"] == "search")
    assert all(r["text"] for r in results)
    rental = next(r for r in results if r["object"] == "public.rental")
    assert rental["kind"] == "table" and "rental_id" in rental["text"]


def test_join_expansion_brings_the_bridge_tables(client: TestClient, indexed: dict[str, Any]) -> None:
    # customer and film are three foreign-key hops apart: rental and inventory join them.
    results = _search(client, indexed["headers"], indexed["sakila"], "film titles rented by each customer", k=3)
    names = [r["object"] for r in results]
    assert {"public.customer", "public.film"} <= set(names), names
    assert {"public.rental", "public.inventory"} <= set(names), names


def test_search_input_limits(client: TestClient, indexed: dict[str, Any]) -> None:
    headers, cid = indexed["headers"], indexed["sakila"]
    assert client.post(f"/api/connections/{cid}/search", json={"query": ""}, headers=headers).status_code == 422
    assert (
        client.post(f"/api/connections/{cid}/search", json={"query": "x", "k": 0}, headers=headers).status_code == 422
    )
    many = _search(client, headers, cid, "payment", k=1000)
    assert len([r for r in many if r["via"] == "search"]) <= 50
    # Query text that looks like tsquery syntax is just words.
    assert _search(client, headers, cid, "customer & ! | :* ' \" (") is not None
