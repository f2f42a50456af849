from __future__ import annotations

from backend.components.join_graph import JoinGraph
from tests.backend.components.schema_builders import snapshot, table

SAKILA_LIKE = snapshot(
    table("s.customer", ["first_name"]),
    table("s.rental", ["rental_date"], {"customer_id": "s.customer", "inventory_id": "s.inventory"}),
    table("s.inventory", [], {"film_id": "s.film"}),
    table("s.film", ["title"], {"language_id": "s.language"}),
    table("s.language", ["name"]),
    table("s.actor", ["first_name"]),
    table("s.film_actor", [], {"actor_id": "s.actor", "film_id": "s.film"}),
    table("t.island", ["name"]),
)


def test_bridges_join_terminals_through_paths_and_junction_tables() -> None:
    graph = JoinGraph.from_snapshot(SAKILA_LIKE)
    assert graph.bridges(["s.customer", "s.film"], max_hops=3) == ["s.inventory", "s.rental"]
    # Too far apart for the hop limit: nothing is invented.
    assert graph.bridges(["s.customer", "s.film"], max_hops=2) == []
    # A junction table of keys only comes with the two tables it links.
    assert graph.bridges(["s.actor", "s.film"], max_hops=3) == ["s.film_actor"]
    # A third terminal joins the nearest chosen node, not only the first terminal.
    assert graph.bridges(["s.actor", "s.film", "s.language"], max_hops=1) == []
    assert graph.bridges(["s.actor", "s.film", "s.language"], max_hops=2) == ["s.film_actor"]
    # Unknown or unconnected terminals add nothing and break nothing.
    assert graph.bridges(["t.island", "s.actor", "nowhere.x"], max_hops=3) == []
    assert graph.bridges([], max_hops=3) == []


def test_the_stored_graph_rebuilds_the_same_neighbours() -> None:
    graph = JoinGraph.from_snapshot(SAKILA_LIKE)
    again = JoinGraph.from_json(graph.to_json())
    assert again.neighbors == graph.neighbors and again.kinds == graph.kinds
    assert graph.references["s.rental"] == ["s.customer", "s.inventory"]
