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

    def bridges(self, terminals: list[str], max_hops: int) -> list[str]:
        """The tables that connect ``terminals`` over foreign keys, terminals excluded.

        A greedy Steiner forest: each terminal (in order) is joined by its shortest path of
        at most ``max_hops`` hops to the nearest node already chosen, so that two terminals
        joined through a junction table pull that table in; a terminal that cannot reach any
        adds nothing but may be reached by a later one.
        """
        tree: list[str] = []
        found: list[str] = []
        for terminal in terminals:
            if terminal not in self.neighbors or terminal in tree:
                continue
            path = self._path_to_tree(terminal, set(tree), max_hops) or [terminal]
            for node in path:
                if node not in tree:
                    tree.append(node)
                    if node not in terminals:
                        found.append(node)
        return found

    def _path_to_tree(self, start: str, tree: set[str], max_hops: int) -> list[str] | None:
        if not tree:
            return None
        queue: deque[list[str]] = deque([[start]])
        seen = {start}
        while queue:
            path = queue.popleft()
            if path[-1] in tree:
                return path
            if len(path) > max_hops:
                continue
            for nxt in sorted(self.neighbors[path[-1]]):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append([*path, nxt])
        return None
