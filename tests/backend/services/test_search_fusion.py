from __future__ import annotations

from backend.components.join_graph import JoinGraph
from backend.components.vector_store import ChunkHit
from backend.schemas.schema_snapshot import ForeignKeyInfo, ObjectInfo, SchemaSnapshot
from backend.services.search_service import fuse


def _hit(name: str, part: int = 0) -> ChunkHit:
    return ChunkHit(name, "table", part, f"text of {name}/{part}", 0.0)


def _fk(source: str, target: str) -> ForeignKeyInfo:
    return ForeignKeyInfo(name=f"{source}->{target}", source=source, columns=["x"], target=target, ref_columns=["id"])


def _snapshot(edges: list[tuple[str, str]], names: list[str]) -> SchemaSnapshot:
    objects = []
    for name in names:
        schema, table = name.split(".")
        objects.append(
            ObjectInfo(
                schema_name=schema, name=table, kind="table", foreign_keys=[_fk(s, t) for s, t in edges if s == name]
            )
        )
    return SchemaSnapshot(kind="postgres", objects=objects)


def test_fusion_rewards_agreement_and_dedupes_parts() -> None:
    fused = fuse([[_hit("a"), _hit("b"), _hit("b", 1)], [_hit("b"), _hit("c")]])
    assert [name for name, _, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] <= 1.0
    assert fuse([[_hit("x")], [_hit("x")]])[0][1] == 1.0


def test_join_paths_bring_bridge_tables() -> None:
    names = ["s.customer", "s.rental", "s.inventory", "s.film", "s.language"]
    edges = [
        ("s.rental", "s.customer"),
        ("s.rental", "s.inventory"),
        ("s.inventory", "s.film"),
        ("s.film", "s.language"),
    ]
    graph = JoinGraph.from_snapshot(_snapshot(edges, names))
    assert graph.join_objects(["s.customer", "s.film"], max_hops=3) == ["s.rental", "s.inventory"]
    assert graph.join_objects(["s.customer", "s.film"], max_hops=2) == []
    # The best hit brings the tables it references.
    assert graph.join_objects(["s.film"], max_hops=3) == ["s.language"]
    # What the store keeps is enough to rebuild the same graph.
    again = JoinGraph.from_json(graph.to_json())
    assert again.neighbors == graph.neighbors and again.kinds == graph.kinds
