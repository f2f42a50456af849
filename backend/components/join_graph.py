"""The foreign-key graph of an indexed database, kept small so search never loads the schema."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from backend.schemas.schema_snapshot import SchemaSnapshot


@dataclass(frozen=True)
class JoinGraph:
    """``references[a]`` lists the objects ``a`` points to; ``kinds`` names every object's kind."""

    kinds: dict[str, str]
    references: dict[str, list[str]]
    neighbors: dict[str, set[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        neighbors: dict[str, set[str]] = {name: set() for name in self.kinds}
        for source, targets in self.references.items():
            for target in targets:
                if source in neighbors and target in neighbors and source != target:
                    neighbors[source].add(target)
                    neighbors[target].add(source)
        object.__setattr__(self, "neighbors", neighbors)

    @classmethod
    def from_snapshot(cls, snapshot: SchemaSnapshot) -> JoinGraph:
        return cls(
            kinds={o.qualified_name: o.kind for o in snapshot.objects},
            references={
                o.qualified_name: sorted({fk.target for fk in o.foreign_keys if fk.target != o.qualified_name})
                for o in snapshot.objects
                if o.foreign_keys
            },
        )

    def to_json(self) -> dict[str, Any]:
        return {"kinds": self.kinds, "references": self.references}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JoinGraph:
        return cls(
            kinds=dict(data.get("kinds", {})), references={k: list(v) for k, v in data.get("references", {}).items()}
        )

    def shortest_path(self, start: str, goal: str, max_hops: int) -> list[str] | None:
        if start not in self.neighbors or goal not in self.neighbors:
            return None
        queue: deque[list[str]] = deque([[start]])
        seen = {start}
        while queue:
            path = queue.popleft()
            if path[-1] == goal:
                return path
            if len(path) > max_hops:
                continue
            for nxt in sorted(self.neighbors[path[-1]]):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append([*path, nxt])
        return None

    def join_objects(self, anchors: list[str], max_hops: int) -> list[str]:
        """Tables a query over the anchors is likely to join, anchors excluded.

        First the objects on the shortest foreign-key paths between any two anchors (the
        bridges of a join), then the tables the best hit references (its lookups, such as
        ``country`` for ``city``).
        """
        found: list[str] = []
        for i, a in enumerate(anchors):
            for b in anchors[i + 1 :]:
                path = self.shortest_path(a, b, max_hops)
                for node in (path or [])[1:-1]:
                    if node not in anchors and node not in found:
                        found.append(node)
        if anchors:
            for target in self.references.get(anchors[0], []):
                if target not in anchors and target not in found:
                    found.append(target)
        return found
