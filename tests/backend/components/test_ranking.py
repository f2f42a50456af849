"""Ranking and context rules, over real keyword indexes of small schemas (no vector list, or a given one)."""

from __future__ import annotations

from backend.components.join_graph import JoinGraph
from backend.components.lexical_index import LexicalIndex, ValueHit
from backend.components.ranking import ContextRule, Ranked, RankingWeights, build_context, rank_objects
from tests.backend.components.schema_builders import snapshot, table

TWO_SCHEMAS = snapshot(
    table("music.artist", ["name"]),
    table("music.album", ["title"], {"artist_id": "music.artist"}),
    table("music.track", ["name", "milliseconds"], {"album_id": "music.album", "genre_id": "music.genre"}),
    table("music.genre", ["name"]),
    table("films.film", ["title", "length"]),
    table("films.actor", ["name"]),
    table("films.film_actor", [], {"film_id": "films.film", "actor_id": "films.actor"}),
)


def _names(ranked: list[Ranked]) -> list[str]:
    return [r.name for r in ranked]


def test_hits_gather_in_the_schema_the_question_is_about() -> None:
    lexicon = LexicalIndex.from_snapshot(TWO_SCHEMAS)
    # The vector list alone puts a film table second; the vote of the schema's words moves music up.
    vector = ["music.track", "films.film", "music.album", "music.genre"]
    ranked = rank_objects("track length and genre of each album", vector, lexicon, RankingWeights(), 40)
    assert set(_names(ranked)[:3]) == {"music.track", "music.album", "music.genre"}
    assert all(0 < r.score <= 1 for r in ranked)
    # The vote is what pushes the other schema's table down: without it, it stays close to the top.
    flat = rank_objects(
        "track length and genre of each album", vector, lexicon, RankingWeights(namespace_boost=0.0), 40
    )

    def relative(found: list[Ranked]) -> float:
        return next(r.score for r in found if r.name == "films.film") / found[0].score

    assert relative(ranked) < 0.6 < relative(flat)


def test_one_schema_gets_no_boost_and_keeps_the_fused_order() -> None:
    lexicon = LexicalIndex.from_snapshot(snapshot(table("p.customer", ["name"]), table("p.orders", ["total"])))
    ranked = rank_objects("customer orders", ["p.orders", "p.customer"], lexicon, RankingWeights(), 40)
    assert {r.name for r in ranked} == {"p.orders", "p.customer"}
    assert ranked[0].score <= 1.0


def test_context_takes_close_hits_junction_tables_and_value_tables() -> None:
    graph = JoinGraph.from_snapshot(TWO_SCHEMAS)
    ranked = [Ranked("films.actor", 1.0), Ranked("films.film", 0.9), Ranked("music.artist", 0.2)]
    rule = ContextRule(min_hits=1, max_hits=10, relative_score=0.5)
    items = build_context(ranked, [], graph, rule)
    # The far weaker hit is left out; the junction table that joins the two hits comes in.
    assert [(i.name, i.via) for i in items] == [
        ("films.actor", "search"),
        ("films.film", "search"),
        ("films.film_actor", "join"),
    ]
    # A table holding a value the question names comes in even when nothing else ranked it.
    items = build_context(ranked, [ValueHit("music.genre", "name", "Rock")], graph, rule)
    assert ("music.genre", "value") in [(i.name, i.via) for i in items]
    # The cap holds whatever is found.
    assert len(build_context(ranked, [], graph, ContextRule(min_hits=3, max_objects=2))) == 2
    assert build_context([], [], graph, rule) == []
