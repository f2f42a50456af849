"""Ranking schema objects for a question: fuse the vector, keyword and name rankings, then
let the namespaces vote so that hits gather in the schema the question is about.

Pure functions over what search already fetched; no I/O, so the benchmark and the tests
exercise exactly what the service runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.components.join_graph import JoinGraph
from backend.components.lexical_index import LexicalIndex, ValueHit, text_terms

RRF_K = 60


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts. ``namespace_boost`` multiplies an object's score by
    ``1 + boost * share`` where ``share`` is its namespace's part of the vote."""

    vector: float = 3.0
    keyword: float = 1.0
    name: float = 0.5
    value: float = 1.0
    namespace_boost: float = 2.0
    namespace_keyword: float = 2.0
    voters: int = 10


@dataclass(frozen=True)
class Ranked:
    name: str
    score: float


def rrf(ranked: Sequence[str], weight: float, into: dict[str, float]) -> None:
    """Add reciprocal-rank contributions of ``ranked`` (best first, no duplicates) to ``into``."""
    for rank, name in enumerate(ranked, start=1):
        into[name] = into.get(name, 0.0) + weight / (RRF_K + rank)


def _top(scores: dict[str, float], n: int) -> list[str]:
    return [name for name, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def namespace_shares(
    fused: dict[str, float], lexical: LexicalIndex, terms: list[str], weights: RankingWeights
) -> dict[str, float]:
    """Each namespace's part of the vote, in [0, 1]; the favourite gets 1.

    The best ``voters`` objects vote with their fused score, and every namespace also gets
    its keyword score as a document of all its objects' words (scaled to the best one).
    """
    votes: dict[str, float] = defaultdict(float)
    for name in _top(fused, weights.voters):
        votes[lexical.namespace_of.get(name, "")] += fused[name]
    top_vote = max(votes.values(), default=0.0)
    keyword = lexical.namespace_scores(terms)
    top_keyword = max(keyword.values(), default=0.0)
    if top_keyword > 0 and top_vote > 0:
        for ns, score in keyword.items():
            votes[ns] += weights.namespace_keyword * top_vote * score / top_keyword
    best = max(votes.values(), default=0.0)
    return {ns: vote / best for ns, vote in votes.items()} if best > 0 else {}


def rank_objects(
    question: str,
    by_vector: Iterable[str],
    lexical: LexicalIndex,
    weights: RankingWeights,
    candidates: int,
    value_hits: Sequence[ValueHit] = (),
) -> list[Ranked]:
    """Objects best first, scores in (0, 1]. ``by_vector`` is the vector ranking of objects.

    Four rankings are fused by reciprocal rank: vector similarity, BM25 over the objects'
    words, objects named by the question's words, and objects holding a value the question
    names. Then each object's score grows with its namespace's share of the vote.
    """
    terms = text_terms(question)
    fused: dict[str, float] = {}
    rrf(list(dict.fromkeys(by_vector)), weights.vector, fused)
    rrf(_top(lexical.object_scores(terms), candidates), weights.keyword, fused)
    rrf(lexical.named_objects(terms)[:candidates], weights.name, fused)
    rrf(list(dict.fromkeys(hit.object_name for hit in value_hits))[:candidates], weights.value, fused)
    ceiling = (weights.vector + weights.keyword + weights.name + weights.value) / (RRF_K + 1)
    shares = namespace_shares(fused, lexical, terms, weights) if lexical.namespace_count > 1 else {}
    boosted = {
        name: score / ceiling * (1 + weights.namespace_boost * shares.get(lexical.namespace_of.get(name, ""), 0.0))
        for name, score in fused.items()
    }
    top = 1 + weights.namespace_boost if shares else 1.0
    return [Ranked(name, boosted[name] / top) for name in _top(boosted, len(boosted))]


@dataclass(frozen=True)
class ContextRule:
    """Which objects a question's prompt describes.

    The first ``min_hits`` ranked objects always, then further ones while their score is at
    least ``relative_score`` of the best, up to ``max_hits``; the tables holding values the
    question names (at most ``value_objects``); the bridge tables that join all of these
    over foreign keys (``join_hops`` at most per link); and the tables the best hit refers
    to. Never more than ``max_objects`` in all.
    """

    min_hits: int = 4
    max_hits: int = 10
    relative_score: float = 0.5
    value_objects: int = 2
    join_hops: int = 3
    max_objects: int = 14


@dataclass(frozen=True)
class ContextItem:
    name: str
    score: float
    via: str  # "search", "value" or "join"


def build_context(
    ranked: Sequence[Ranked], value_hits: Sequence[ValueHit], graph: JoinGraph, rule: ContextRule
) -> list[ContextItem]:
    """The objects of a question's context, in the order the prompt lists them."""
    if not ranked:
        return []
    floor = rule.relative_score * ranked[0].score
    hits = [r for i, r in enumerate(ranked[: rule.max_hits]) if i < rule.min_hits or r.score >= floor]
    items = [ContextItem(r.name, r.score, "search") for r in hits]
    chosen = {r.name for r in hits}
    scores = {r.name: r.score for r in ranked}
    for name in dict.fromkeys(hit.object_name for hit in value_hits):
        if sum(item.via == "value" for item in items) >= rule.value_objects:
            break
        if name not in chosen:
            items.append(ContextItem(name, scores.get(name, 0.0), "value"))
            chosen.add(name)
    terminals = [item.name for item in items]
    joined = graph.bridges(terminals, rule.join_hops)
    joined += [t for t in graph.references.get(terminals[0], []) if t not in chosen and t not in joined]
    items.extend(ContextItem(name, scores.get(name, 0.0), "join") for name in joined if name not in chosen)
    return items[: rule.max_objects]
