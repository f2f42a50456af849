from __future__ import annotations

from backend.components.lexical_index import LexicalIndex, split_compound, text_terms
from backend.schemas.schema_snapshot import ColumnInfo
from tests.backend.components.schema_builders import snapshot, table


def _world() -> LexicalIndex:
    country = table("geo.country", ["name", "continent", "head_of_state"])
    country.columns[2].values = ["Asia", "Europe", "North America"]
    language = table("geo.countrylanguage", ["language", "is_official"], {"countrycode": "geo.country"})
    status = table("shop.orders", ["status", "total"], comment="Customer orders; status 3 is cancelled")
    status.columns.append(ColumnInfo(name="channel", type="text", values=["web", "the", "42"]))
    status.samples = [{"id": "1", "status": "shipped", "total": "9.50", "channel": "web"}]
    return LexicalIndex.from_snapshot(snapshot(country, language, status))


def test_question_terms_drop_function_words_and_stem() -> None:
    assert text_terms("How many Countries are in each continent?") == ["countri", "contin"]
    assert text_terms("orderLines of the customers") == ["order", "line", "custom"]


def test_run_together_names_split_on_the_schemas_own_words() -> None:
    vocabulary = frozenset({"country", "language", "code", "id"})
    assert split_compound("countrylanguage", vocabulary) == ["country", "language"]
    assert split_compound("countrycode", vocabulary) == ["country", "code"]
    # Pieces shorter than three letters never split a word; unknown pieces do not either.
    assert split_compound("countryid", vocabulary) == []
    assert split_compound("countryside", vocabulary) == []
    assert split_compound("country", vocabulary) == []


def test_keyword_scores_find_split_names_columns_and_comments() -> None:
    index = _world()
    languages = index.object_scores(text_terms("official languages of each country"))
    assert max(languages, key=languages.__getitem__) == "geo.countrylanguage"
    cancelled = index.object_scores(text_terms("how many cancelled orders"))
    assert set(cancelled) == {"shop.orders"}
    assert index.object_scores(text_terms("what is this")) == {}


def test_namespace_scores_point_at_the_schema_holding_the_words() -> None:
    scores = _world().namespace_scores(text_terms("languages spoken per continent"))
    assert max(scores, key=scores.__getitem__) == "geo"
    assert "shop" not in scores


def test_named_objects_need_every_word_of_the_name() -> None:
    index = _world()
    assert index.named_objects(text_terms("which country has most orders")) == ["geo.country", "shop.orders"]
    assert index.named_objects(text_terms("language per country")) == ["geo.country"]


def test_values_named_in_a_question_are_found_and_others_are_not() -> None:
    index = _world()
    hits = index.value_hits("Which countries are in north america or Asia?")
    assert [(h.object_name, h.column, h.value) for h in hits] == [
        ("geo.country", "continent", "North America"),
        ("geo.country", "continent", "Asia"),
    ]
    # Sample values count too.
    assert [h.value for h in index.value_hits("orders that have shipped")] == ["shipped"]
    # A stop word or a bare number stored as a value never matches a question.
    assert index.value_hits("the 42 orders") == []
    assert index.value_hits("nothing to see") == []
