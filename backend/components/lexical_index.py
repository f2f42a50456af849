"""Keyword retrieval over a schema, in memory: BM25 on split, stemmed identifiers and an
inverted index of the values a database holds.

Built once per index version from the ``SchemaSnapshot`` (names, columns, comments, notes, value
lists, samples, keys) and kept by ``IndexCache``; searching it costs no database round trip.
Two kinds of documents are scored: each object, and each namespace (a schema or a database)
as the union of its objects, so that a question whose words are spread over several tables
of one schema still points at that schema.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from backend.components.chunker import identifier_words
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot

# English function words and the verbs of asking: they name no table anywhere.
STOPWORDS = frozenset(
    """a about above after all also am an and any are as at be been before being below between both but by
    can could did do does doing down during each either every few for from further give had has have having
    he her here hers him his how i if in into is it its itself just list many me more most much my no nor not of
    off on once only or other our out over own please return same she should show so some such tell than that
    the their them then there these they this those through to too under until up us very was we were what
    when where whether which while who whom whose why will with would you your""".split()  # noqa: SIM905 - reads as prose
)
# Field weights of an object document: its own name says most, its neighbours' names least.
NAME_WEIGHT = 3.0
COLUMN_WEIGHT = 1.0
TEXT_WEIGHT = 1.0
NEIGHBOR_WEIGHT = 0.5
BM25_K1 = 1.2
BM25_B = 0.75
# The shortest piece a run-together identifier is split into.
COMPOUND_MIN = 3
# Values longer than this are prose, not names to recognise.
VALUE_MAX_WORDS = 6

_STEMMER = snowballstemmer.stemmer("english")
_WORD = re.compile(r"[0-9A-Za-z]+")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word.lower()))


def text_terms(text: str) -> list[str]:
    """Stemmed content words of free text (a question, a comment), identifiers split."""
    return [stem(w) for token in _WORD.findall(text) for w in identifier_words(token) if w not in STOPWORDS]


def name_terms(identifier: str) -> list[str]:
    """Stemmed words of an identifier; ``film_actor`` and ``FilmActor`` give ``film``, ``actor``."""
    return [stem(w) for w in identifier_words(identifier)]


def split_compound(word: str, vocabulary: frozenset[str]) -> list[str]:
    """The pieces of a run-together identifier word, or nothing.

    ``countrylanguage`` gives ``country``, ``language`` when the schema uses both words on
    their own elsewhere (``vocabulary``). Pieces have at least ``COMPOUND_MIN`` letters, so
    short words such as ``id`` never cause a split, and the split with fewest pieces wins.
    """
    n = len(word)
    if n < 2 * COMPOUND_MIN:
        return []
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(COMPOUND_MIN, n + 1):
        for start in range(0, end - COMPOUND_MIN + 1):
            head = best[start]
            if head is not None and word[start:end] in vocabulary and (start or end < n):
                candidate = [*head, word[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[n] or []


def value_key(value: str) -> tuple[str, ...]:
    """The normalised words of a stored value, as the question would spell them."""
    return tuple(w.lower() for w in _WORD.findall(value))


@dataclass(frozen=True)
class ValueHit:
    """A value of ``column`` of ``object_name`` that the question names word for word."""

    object_name: str
    column: str
    value: str


@dataclass
class _Bm25:
    """BM25 over weighted term counts; documents are keyed by name."""

    docs: dict[str, Counter[str]] = field(default_factory=dict)
    postings: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, docs: dict[str, Counter[str]]) -> _Bm25:
        lengths = {key: sum(doc.values()) for key, doc in docs.items()}
        average = (sum(lengths.values()) / len(lengths)) if lengths else 1.0
        frequency: Counter[str] = Counter(term for doc in docs.values() for term in doc)
        n = len(docs)
        idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for key, doc in docs.items():
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[key] / max(average, 1e-9))
            for term, tf in doc.items():
                postings[term].append((key, idf[term] * tf * (BM25_K1 + 1) / (tf + norm)))
        return cls(docs=docs, postings=dict(postings), idf=idf)

    def score(self, terms: Iterable[str]) -> dict[str, float]:
        scores: dict[str, float] = defaultdict(float)
        for term in set(terms):
            for key, weight in self.postings.get(term, ()):
                scores[key] += weight
        return dict(scores)


def _object_document(obj: ObjectInfo, vocabulary: frozenset[str]) -> Counter[str]:
    doc: Counter[str] = Counter()

    def name_terms(identifier: str) -> list[str]:
        words = identifier_words(identifier)
        words += [piece for w in words for piece in split_compound(w, vocabulary)]
        return [stem(w) for w in words]

    def add(terms: Iterable[str], weight: float) -> None:
        for term in terms:
            doc[term] += weight  # type: ignore[assignment]

    add(name_terms(obj.name), NAME_WEIGHT)
    add(name_terms(obj.schema_name), TEXT_WEIGHT)
    for col in obj.columns:
        add(name_terms(col.name), COLUMN_WEIGHT)
        if col.comment:
            add(text_terms(col.comment), TEXT_WEIGHT)
        if col.note:
            add(text_terms(col.note), TEXT_WEIGHT)
    if obj.comment:
        add(text_terms(obj.comment), TEXT_WEIGHT)
    if obj.note:
        add(text_terms(obj.note), TEXT_WEIGHT)
    neighbours = {fk.target for fk in obj.foreign_keys} | {fk.source for fk in obj.referenced_by}
    for name in neighbours:
        add(name_terms(name.rpartition(".")[2]), NEIGHBOR_WEIGHT)
    return doc


@dataclass(frozen=True)
class LexicalIndex:
    """Keyword scores for objects and namespaces, and the values a question names."""

    objects: _Bm25
    namespaces: _Bm25
    namespace_of: dict[str, str]
    name_words: dict[str, frozenset[str]]
    values: dict[tuple[str, ...], list[ValueHit]]
    longest_value: int
    namespace_count: int

    @classmethod
    def from_snapshot(cls, snapshot: SchemaSnapshot) -> LexicalIndex:
        object_docs: dict[str, Counter[str]] = {}
        namespace_docs: dict[str, Counter[str]] = defaultdict(Counter)
        values: dict[tuple[str, ...], list[ValueHit]] = defaultdict(list)
        vocabulary = frozenset(
            word
            for obj in snapshot.objects
            for ident in (obj.name, *(c.name for c in obj.columns))
            for word in identifier_words(ident)
        )
        for obj in snapshot.objects:
            name = obj.qualified_name
            doc = _object_document(obj, vocabulary)
            object_docs[name] = doc
            # A namespace counts each term once per object: a word in many of its tables is typical of it.
            namespace_docs[obj.schema_name].update(set(doc))
            for col in obj.columns:
                seen = set(col.values or [])
                seen.update(row[col.name] or "" for row in obj.samples if col.name in row)
                for value in seen:
                    key = value_key(value)
                    if key and len(key) <= VALUE_MAX_WORDS and not (len(key) == 1 and key[0].isdigit()):
                        values[key].append(ValueHit(name, col.name, value))
        return cls(
            objects=_Bm25.build(object_docs),
            namespaces=_Bm25.build(dict(namespace_docs)),
            namespace_of={o.qualified_name: o.schema_name for o in snapshot.objects},
            name_words={o.qualified_name: frozenset(name_terms(o.name)) for o in snapshot.objects},
            values=dict(values),
            longest_value=max((len(k) for k in values), default=0),
            namespace_count=len(namespace_docs),
        )

    def object_scores(self, terms: list[str]) -> dict[str, float]:
        return self.objects.score(terms)

    def namespace_scores(self, terms: list[str]) -> dict[str, float]:
        return self.namespaces.score(terms)

    def named_objects(self, terms: list[str]) -> list[str]:
        """Objects whose whole name is made of the question's words, longer names first."""
        words = set(terms)
        found = [name for name, parts in self.name_words.items() if parts and parts <= words]
        return sorted(found, key=lambda n: (-len(self.name_words[n]), n))

    def value_hits(self, question: str) -> list[ValueHit]:
        """Stored values the question spells out: quoted ones, and runs of its words.

        Numbers alone are left out (every table has them); a value made only of stop words
        ("the", "all") would match every question and is left out too.
        """
        words = [w.lower() for w in _WORD.findall(question)]
        hits: list[ValueHit] = []
        for size in range(min(self.longest_value, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                key = tuple(words[start : start + size])
                if all(w in STOPWORDS for w in key):
                    continue
                hits.extend(self.values.get(key, ()))
        return hits
