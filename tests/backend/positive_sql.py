"""A corpus of valid, read-only analytic queries that the SQL guard must let through unchanged in meaning.

Each entry is a question a user could ask about one of the public sample databases (Sakila,
Chinook, Northwind, as loaded by ``scripts/load_samples.py``), the PostgreSQL a good model
would write for it, and the features of the language it exercises. Every query runs as is on
its database, returns at most 200 rows and, when it has a top-level ``ORDER BY``, orders its
rows completely, so its result can be compared row for row with what the API returns.

``tests/backend/test_positive_corpus.py`` asks every question through ``POST /api/query``
with the scripted Ollama answering with the query, and checks the columns and rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DATABASES = ("sakila", "chinook", "northwind")

# Feature tag -> what it means. Every tag must be carried by at least two queries.
FEATURES: dict[str, str] = {
    "join": "inner joins",
    "outer_join": "LEFT / FULL OUTER joins",
    "self_join": "a table joined to itself",
    "using_join": "JOIN ... USING (...)",
    "natural_join": "NATURAL JOIN",
    "lateral": "LATERAL subqueries",
    "cte": "common table expressions",
    "cte_columns": "a CTE declared with a column list",
    "recursive_cte": "WITH RECURSIVE",
    "alias_reuse": "the same alias for different relations in two scopes",
    "derived_table": "a subquery in FROM / JOIN",
    "scalar_subquery": "a subquery used as a value",
    "correlated_subquery": "a subquery referring to the outer query",
    "exists": "EXISTS / NOT EXISTS",
    "in_subquery": "IN / NOT IN (SELECT ...)",
    "any_all": "= ANY (...), > ALL (...)",
    "union": "UNION [ALL]",
    "intersect": "INTERSECT",
    "except": "EXCEPT",
    "window": "window functions",
    "window_frame": "explicit window frames (ROWS / RANGE ...)",
    "named_window": "a WINDOW clause",
    "ntile": "ntile()",
    "lag_lead": "lag() / lead()",
    "percentile": "ordered-set aggregates (percentile_cont ... WITHIN GROUP)",
    "filter": "aggregate FILTER (WHERE ...)",
    "having": "HAVING",
    "grouping_sets": "GROUPING SETS",
    "rollup": "ROLLUP",
    "cube": "CUBE",
    "distinct_on": "DISTINCT ON",
    "nulls_order": "NULLS LAST / NULLS FIRST",
    "case": "CASE expressions",
    "and_or": "boolean AND / OR",
    "is_distinct_from": "IS [NOT] DISTINCT FROM",
    "between": "BETWEEN",
    "like": "LIKE / NOT LIKE",
    "ilike": "ILIKE",
    "regex": "regular-expression operators (~, ~*, !~, !~*)",
    "coalesce": "coalesce()",
    "nullif": "nullif()",
    "string_functions": "string functions (upper, split_part, left, replace, lpad...)",
    "concat_op": "the || operator",
    "string_agg": "string_agg()",
    "array_agg": "array_agg()",
    "date_arithmetic": "arithmetic on dates, timestamps and intervals",
    "date_trunc": "date_trunc()",
    "extract": "extract() / date_part()",
    "interval": "interval literals",
    "now_interval": "now() - interval",
    "to_char": "to_char()",
    "generate_series": "generate_series() as a row source",
    "values": "VALUES lists",
    "cast": "casts to built-in types",
    "numeric_cast": "::numeric(p, s)",
    "date_cast": "::date",
    "text_cast": "::text",
    "enum": "comparisons with an enum column (Sakila's mpaa_rating)",
    "domain": "a column of a domain type (Sakila's year)",
    "date_functions": "age(), make_date() and other date functions",
}

_FLAGS = re.IGNORECASE | re.DOTALL

# Tags that can be recognised in the text: the query carries the tag exactly when the pattern matches.
FEATURE_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, _FLAGS)
    for name, pattern in {
        "join": r"\bJOIN\b",
        "outer_join": r"\b(LEFT|RIGHT|FULL)\s+(OUTER\s+)?JOIN\b",
        "using_join": r"\bUSING\s*\(",
        "natural_join": r"\bNATURAL\s+JOIN\b",
        "lateral": r"\bLATERAL\b",
        "cte": r"^\s*WITH\b",
        "cte_columns": r"\b\w+\s*\(\s*\w+(\s*,\s*\w+)*\s*\)\s+AS\s+\(",
        "recursive_cte": r"^\s*WITH\s+RECURSIVE\b",
        "derived_table": r"\b(FROM|JOIN)\s*\(\s*SELECT\b",
        "exists": r"\bEXISTS\s*\(",
        "in_subquery": r"\bIN\s*\(\s*SELECT\b",
        "any_all": r"\b(ANY|ALL|SOME)\s*\(",
        "union": r"\bUNION\b",
        "intersect": r"\bINTERSECT\b",
        "except": r"\bEXCEPT\b",
        "window": r"\bOVER\b",
        "window_frame": r"\b(ROWS|RANGE|GROUPS)\s+(BETWEEN|UNBOUNDED|CURRENT|\d+\s+PRECEDING)\b",
        "named_window": r"\bWINDOW\s+\w+\s+AS\b",
        "ntile": r"\bntile\s*\(",
        "lag_lead": r"\b(lag|lead)\s*\(",
        "percentile": r"\bWITHIN\s+GROUP\b",
        "filter": r"\bFILTER\s*\(\s*WHERE\b",
        "having": r"\bHAVING\b",
        "grouping_sets": r"\bGROUPING\s+SETS\b",
        "rollup": r"\bROLLUP\b",
        "cube": r"\bCUBE\b",
        "distinct_on": r"\bDISTINCT\s+ON\b",
        "nulls_order": r"\bNULLS\s+(LAST|FIRST)\b",
        "case": r"\bCASE\b",
        "is_distinct_from": r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b",
        "between": r"(?<!ROWS )(?<!RANGE )\bBETWEEN\b",
        "like": r"\bLIKE\b",
        "ilike": r"\bILIKE\b",
        "regex": r"\s!?~\*?\s",
        "coalesce": r"\bcoalesce\s*\(",
        "nullif": r"\bnullif\s*\(",
        "string_functions": (
            r"\b(upper|lower|initcap|substr|substring|left|right|length|char_length|split_part|replace|btrim"
            r"|ltrim|rtrim|trim|lpad|rpad|strpos|position|concat|concat_ws|reverse|repeat|translate"
            r"|regexp_replace|regexp_match|format)\s*\("
        ),
        "concat_op": r"\|\|",
        "string_agg": r"\bstring_agg\s*\(",
        "array_agg": r"\barray_agg\s*\(",
        "date_trunc": r"\bdate_trunc\s*\(",
        "extract": r"\b(extract|date_part)\s*\(",
        "interval": r"\binterval\b",
        "now_interval": r"\bnow\(\)\s*-\s*interval\b",
        "to_char": r"\bto_char\s*\(",
        "generate_series": r"\bgenerate_series\s*\(",
        "values": r"\bVALUES\b",
        "cast": r"::\s*\w|\bCAST\s*\(",
        "numeric_cast": r"::\s*numeric\s*\(\s*\d+\s*,\s*\d+\s*\)",
        "date_cast": r"::\s*date\b",
        "text_cast": r"::\s*text\b",
        "date_functions": r"\b(age|make_date|make_interval|justify_days|justify_interval|date_bin)\s*\(",
    }.items()
}

# Tags that cannot be read off the text reliably: the query must at least mention this.
FEATURE_HINTS: dict[str, re.Pattern[str]] = {
    "enum": re.compile(r"\brating\b", _FLAGS),
    "domain": re.compile(r"\brelease_year\b", _FLAGS),
    "date_arithmetic": re.compile(r"_date\b|\binterval\b|\bday\b|\bmonth\b|\bage\(", _FLAGS),
    "scalar_subquery": re.compile(r"\(\s*SELECT\b", _FLAGS),
    "correlated_subquery": re.compile(r"\(\s*SELECT\b", _FLAGS),
}


def _without_literals(sql: str) -> str:
    """The query text with every string literal emptied (so ``'over a week'`` is not a window)."""
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _and_or_present(code: str) -> bool:
    """Whether the query has a boolean AND / OR (the AND of ``BETWEEN a AND b`` does not count)."""
    without_between = re.sub(r"\bBETWEEN\b(.*?)\bAND\b", r"BETWEEN\1", code, flags=_FLAGS)
    return re.search(r"\b(AND|OR)\b", without_between, flags=re.IGNORECASE) is not None


def detected_features(sql: str) -> set[str]:
    """The tags of ``FEATURE_PATTERNS`` (and ``and_or``) that the text of ``sql`` shows."""
    code = _without_literals(sql)
    found = {name for name, pattern in FEATURE_PATTERNS.items() if pattern.search(code)}
    if _and_or_present(code):
        found.add("and_or")
    return found


# Every tag that ``detected_features`` can find: for these, the tags must be exactly what the text shows.
DETECTABLE = frozenset(FEATURE_PATTERNS) | {"and_or"}


def _top_level(sql: str) -> str:
    """The query text without string literals and without anything inside parentheses."""
    text = _without_literals(sql)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\([^()]*\)", "", text)
    return text


@dataclass(frozen=True)
class PositiveQuery:
    database: str
    question: str
    features: frozenset[str]
    sql: str

    @property
    def ordered(self) -> bool:
        """Whether the query orders its final result (then rows are compared in order)."""
        return re.search(r"\bORDER\s+BY\b", _top_level(self.sql), flags=re.IGNORECASE) is not None

    @property
    def label(self) -> str:
        return f"{self.database}: {self.question}"


def _q(database: str, question: str, features: str, sql: str) -> PositiveQuery:
    return PositiveQuery(database, question, frozenset(features.split()), sql.strip())


SAKILA: list[PositiveQuery] = [
    _q(
        "sakila",
        "Who were the ten best-paying customers in summer 2005, and where do they live?",
        "join concat_op and_or",
        """
SELECT c.customer_id, c.first_name || ' ' || c.last_name AS customer, ci.city, co.country, SUM(p.amount) AS total_paid
FROM customer c
JOIN address a ON a.address_id = c.address_id
JOIN city ci ON ci.city_id = a.city_id
JOIN country co ON co.country_id = ci.country_id
JOIN payment p ON p.customer_id = c.customer_id
WHERE p.payment_date >= DATE '2005-06-01' AND p.payment_date < DATE '2005-09-01'
GROUP BY c.customer_id, c.first_name, c.last_name, ci.city, co.country
ORDER BY total_paid DESC, c.customer_id
LIMIT 10
""",
    ),
    _q(
        "sakila",
        "Which PG or PG-13 films run longer than two and a half hours and rent for 2.99 or 4.99?",
        "and_or enum",
        """
SELECT f.title, f.rating, f.length, f.rental_rate
FROM film f
WHERE (f.rating = 'PG' OR f.rating = 'PG-13') AND f.length > 150 AND f.rental_rate IN (2.99, 4.99)
ORDER BY f.length DESC, f.title
LIMIT 25
""",
    ),
    _q(
        "sakila",
        "Monthly revenue of the Action, Comedy and Drama categories, with subtotals per category and a grand total",
        "join rollup date_trunc cast date_cast nulls_order",
        """
SELECT cat.name AS category, date_trunc('month', p.payment_date)::date AS month, SUM(p.amount) AS revenue
FROM payment p
JOIN rental r ON r.rental_id = p.rental_id
JOIN inventory i ON i.inventory_id = r.inventory_id
JOIN film_category fc ON fc.film_id = i.film_id
JOIN category cat ON cat.category_id = fc.category_id
WHERE cat.name IN ('Action', 'Comedy', 'Drama')
GROUP BY ROLLUP (cat.name, date_trunc('month', p.payment_date)::date)
ORDER BY category NULLS LAST, month NULLS LAST
""",
    ),
    _q(
        "sakila",
        "For each rating, how long are rentals kept on average and how many came back late?",
        "join using_join extract filter date_arithmetic interval cast and_or enum",
        """
SELECT f.rating, COUNT(*) AS rentals,
       ROUND((AVG(EXTRACT(EPOCH FROM (r.return_date - r.rental_date))) / 86400)::numeric, 2) AS avg_days_kept,
       COUNT(*) FILTER (WHERE r.return_date - r.rental_date > f.rental_duration * INTERVAL '1 day') AS late_returns
FROM rental r
JOIN inventory i USING (inventory_id)
JOIN film f USING (film_id)
WHERE r.return_date IS NOT NULL AND r.rental_date < '2006-01-01'
GROUP BY f.rating
ORDER BY f.rating
""",
    ),
    _q(
        "sakila",
        "Which active customers have never rented a horror film?",
        "exists correlated_subquery join and_or",
        """
SELECT c.customer_id, c.first_name, c.last_name
FROM customer c
WHERE c.active = 1
  AND c.store_id = 2
  AND NOT EXISTS (
    SELECT 1
    FROM rental r
    JOIN inventory i ON i.inventory_id = r.inventory_id
    JOIN film_category fc ON fc.film_id = i.film_id
    JOIN category cat ON cat.category_id = fc.category_id
    WHERE r.customer_id = c.customer_id AND cat.name = 'Horror'
  )
ORDER BY c.last_name, c.first_name, c.customer_id
""",
    ),
    _q(
        "sakila",
        "What are the three most rented films in each category?",
        "cte join outer_join window",
        """
WITH film_rentals AS (
    SELECT fc.category_id, f.film_id, f.title, COUNT(r.rental_id) AS rentals
    FROM film f
    JOIN film_category fc ON fc.film_id = f.film_id
    LEFT JOIN inventory i ON i.film_id = f.film_id
    LEFT JOIN rental r ON r.inventory_id = i.inventory_id
    GROUP BY fc.category_id, f.film_id, f.title
), ranked AS (
    SELECT fr.*, ROW_NUMBER() OVER (PARTITION BY fr.category_id ORDER BY fr.rentals DESC, fr.title) AS rnk
    FROM film_rentals fr
)
SELECT c.name AS category, ranked.title, ranked.rentals, ranked.rnk
FROM ranked
JOIN category c ON c.category_id = ranked.category_id
WHERE ranked.rnk <= 3
ORDER BY c.name, ranked.rnk
""",
    ),
    _q(
        "sakila",
        "Which actors appear in the most R or NC-17 films?",
        "cte alias_reuse join using_join and_or enum",
        """
WITH c AS (
    SELECT x.actor_id, COUNT(x.film_id) AS n
    FROM film_actor x
    JOIN film d ON d.film_id = x.film_id
    WHERE d.rating = 'R' OR d.rating = 'NC-17'
    GROUP BY x.actor_id
)
SELECT x.actor_id, d.first_name, d.last_name, x.n
FROM c x
JOIN actor d USING (actor_id)
ORDER BY x.n DESC, x.actor_id
LIMIT 15
""",
    ),
    _q(
        "sakila",
        "What were the three latest rentals of each store?",
        "lateral join correlated_subquery",
        """
SELECT s.store_id, lr.rental_id, lr.rental_date, lr.title
FROM store s
CROSS JOIN LATERAL (
    SELECT r.rental_id, r.rental_date, f.title
    FROM rental r
    JOIN inventory i ON i.inventory_id = r.inventory_id
    JOIN film f ON f.film_id = i.film_id
    WHERE i.store_id = s.store_id
    ORDER BY r.rental_date DESC, r.rental_id DESC
    LIMIT 3
) lr
ORDER BY s.store_id, lr.rental_date DESC, lr.rental_id DESC
""",
    ),
    _q(
        "sakila",
        "Who is the biggest spender in each country (first 20 countries alphabetically)?",
        "distinct_on derived_table join",
        """
SELECT DISTINCT ON (co.country) co.country, c.first_name, c.last_name, t.total
FROM (SELECT p.customer_id, SUM(p.amount) AS total FROM payment p GROUP BY p.customer_id) t
JOIN customer c ON c.customer_id = t.customer_id
JOIN address a ON a.address_id = c.address_id
JOIN city ci ON ci.city_id = a.city_id
JOIN country co ON co.country_id = ci.country_id
ORDER BY co.country, t.total DESC, c.customer_id
LIMIT 20
""",
    ),
    _q(
        "sakila",
        "Which first names are shared by an actor and a customer?",
        "intersect",
        """
SELECT first_name FROM actor
INTERSECT
SELECT first_name FROM customer
ORDER BY first_name
""",
    ),
    _q(
        "sakila",
        "Which films does store 1 stock that store 2 does not?",
        "except join",
        """
SELECT f.film_id, f.title
FROM film f JOIN inventory i ON i.film_id = f.film_id
WHERE i.store_id = 1
EXCEPT
SELECT f.film_id, f.title
FROM film f JOIN inventory i ON i.film_id = f.film_id
WHERE i.store_id = 2
ORDER BY title, film_id
LIMIT 40
""",
    ),
    _q(
        "sakila",
        "List store 1's staff and its customers whose last name starts with Z",
        "union like and_or",
        """
SELECT 'staff' AS kind, s.first_name, s.last_name, s.email
FROM staff s
WHERE s.store_id = 1
UNION ALL
SELECT 'customer', c.first_name, c.last_name, c.email
FROM customer c
WHERE c.store_id = 1 AND c.last_name LIKE 'Z%'
ORDER BY kind, last_name, first_name
""",
    ),
    _q(
        "sakila",
        "Payments and revenue per staff member, per month, and overall",
        "grouping_sets to_char nulls_order",
        """
SELECT p.staff_id, to_char(p.payment_date, 'YYYY-MM') AS month, COUNT(*) AS payments, SUM(p.amount) AS total
FROM payment p
GROUP BY GROUPING SETS ((p.staff_id), (to_char(p.payment_date, 'YYYY-MM')), ())
ORDER BY p.staff_id NULLS LAST, month NULLS LAST
""",
    ),
    _q(
        "sakila",
        "Rentals by store and rating, with every subtotal",
        "cube join nulls_order enum",
        """
SELECT i.store_id, f.rating, COUNT(*) AS rentals
FROM rental r
JOIN inventory i ON i.inventory_id = r.inventory_id
JOIN film f ON f.film_id = i.film_id
GROUP BY CUBE (i.store_id, f.rating)
ORDER BY i.store_id NULLS LAST, f.rating NULLS LAST
""",
    ),
    _q(
        "sakila",
        "How many rentals were there on each day of the first half of July 2005, including days without any?",
        "generate_series join outer_join interval date_arithmetic cast date_cast and_or",
        """
SELECT g.day::date AS day, COUNT(r.rental_id) AS rentals
FROM generate_series(TIMESTAMP '2005-07-01', TIMESTAMP '2005-07-15', INTERVAL '1 day') AS g(day)
LEFT JOIN rental r ON r.rental_date >= g.day AND r.rental_date < g.day + INTERVAL '1 day'
GROUP BY g.day
ORDER BY g.day
""",
    ),
    _q(
        "sakila",
        "Daily revenue in August 2005 with a 7-day moving average and a running total",
        "cte window window_frame cast date_cast and_or",
        """
WITH daily AS (
    SELECT p.payment_date::date AS day, SUM(p.amount) AS revenue
    FROM payment p
    WHERE p.payment_date >= '2005-08-01' AND p.payment_date < '2005-09-01'
    GROUP BY p.payment_date::date
)
SELECT day, revenue,
       ROUND(AVG(revenue) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 2) AS moving_avg_7d,
       SUM(revenue) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total
FROM daily
ORDER BY day
""",
    ),
    _q(
        "sakila",
        "How did revenue change from month to month?",
        "cte date_trunc to_char window lag_lead nullif",
        """
WITH monthly AS (
    SELECT date_trunc('month', payment_date) AS month, SUM(amount) AS revenue
    FROM payment
    GROUP BY 1
)
SELECT to_char(monthly.month, 'YYYY-MM') AS month, revenue,
       LAG(revenue) OVER (ORDER BY monthly.month) AS previous_revenue,
       ROUND(100.0 * (revenue - LAG(revenue) OVER (ORDER BY monthly.month))
             / NULLIF(LAG(revenue) OVER (ORDER BY monthly.month), 0), 1) AS pct_change
FROM monthly
ORDER BY monthly.month
""",
    ),
    _q(
        "sakila",
        "Split customers into spending quartiles: how many are in each and what do they spend?",
        "cte window ntile",
        """
WITH spend AS (
    SELECT customer_id, SUM(amount) AS total FROM payment GROUP BY customer_id
), q AS (
    SELECT customer_id, total, NTILE(4) OVER (ORDER BY total DESC, customer_id) AS quartile FROM spend
)
SELECT quartile, COUNT(*) AS customers, MIN(total) AS min_total, MAX(total) AS max_total,
       ROUND(AVG(total), 2) AS avg_total
FROM q
GROUP BY quartile
ORDER BY quartile
""",
    ),
    _q(
        "sakila",
        "Median film length and 90th percentile replacement cost per rating",
        "percentile enum",
        """
SELECT rating,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY length) AS median_length,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY replacement_cost) AS p90_replacement_cost
FROM film
GROUP BY rating
ORDER BY rating
""",
    ),
    _q(
        "sakila",
        "Customers whose first and last names start with the same letter, longest names first",
        "string_functions concat_op and_or",
        """
SELECT c.customer_id, initcap(c.first_name) || ' ' || initcap(c.last_name) AS name, lower(c.email) AS email,
       length(c.first_name) + length(c.last_name) AS name_length
FROM customer c
WHERE left(c.first_name, 1) = left(c.last_name, 1) AND c.email IS NOT NULL
ORDER BY name_length DESC, c.customer_id
LIMIT 20
""",
    ),
    _q(
        "sakila",
        "Films whose title starts with a vowel and whose description mentions a boring or epic story",
        "regex and_or domain",
        """
SELECT f.film_id, f.title, f.release_year
FROM film f
WHERE f.title ~ '^[AEIOU]' AND f.description ~* '(boring|epic) (story|drama)' AND f.title !~ 'Z'
ORDER BY f.title
""",
    ),
    _q(
        "sakila",
        "Customers with 'ann' in their first name or a last name starting with Mc, with their mailbox and domain",
        "ilike string_functions and_or",
        """
SELECT c.first_name, c.last_name, split_part(c.email, '@', 1) AS mailbox, split_part(c.email, '@', 2) AS domain
FROM customer c
WHERE c.first_name ILIKE '%ann%' OR c.last_name ILIKE 'mc%'
ORDER BY c.last_name, c.first_name
""",
    ),
    _q(
        "sakila",
        "Per language, how many films have a known original language different from it?",
        "is_distinct_from filter join",
        """
SELECT l.name AS language, COUNT(*) AS films,
       COUNT(*) FILTER (WHERE f.original_language_id IS DISTINCT FROM f.language_id) AS different_or_unknown_original,
       COUNT(*) FILTER (WHERE f.original_language_id IS NOT DISTINCT FROM f.language_id) AS same_original
FROM film f
JOIN language l ON l.language_id = f.language_id
GROUP BY l.name
ORDER BY l.name
""",
    ),
    _q(
        "sakila",
        "In each store, how many customers have an active flag that disagrees with their activebool?",
        "is_distinct_from",
        """
SELECT c.store_id, COUNT(*) AS inconsistent_customers
FROM customer c
WHERE (c.active = 1) IS DISTINCT FROM c.activebool
GROUP BY c.store_id
ORDER BY c.store_id
""",
    ),
    _q(
        "sakila",
        "How many films per release year and rating (excluding NC-17), released between 2000 and 2010?",
        "between domain enum and_or",
        """
SELECT f.release_year, f.rating, COUNT(*) AS films, ROUND(AVG(f.rental_rate), 2) AS avg_rate
FROM film f
WHERE f.release_year BETWEEN 2000 AND 2010 AND f.rating <> 'NC-17'
GROUP BY f.release_year, f.rating
ORDER BY f.release_year, f.rating
""",
    ),
    _q(
        "sakila",
        "Per rating, how many films have deleted scenes but no trailers?",
        "any_all and_or enum",
        """
SELECT f.rating, COUNT(*) AS films, MAX(array_length(f.special_features, 1)) AS max_features
FROM film f
WHERE 'Deleted Scenes' = ANY (f.special_features) AND NOT ('Trailers' = ANY (f.special_features))
GROUP BY f.rating
ORDER BY f.rating
""",
    ),
    _q(
        "sakila",
        "Who plays in the films whose title starts with AL?",
        "string_agg join concat_op like",
        """
SELECT f.title,
       string_agg(a.first_name || ' ' || a.last_name, ', ' ORDER BY a.last_name, a.first_name) AS actors,
       COUNT(*) AS cast_size
FROM film f
JOIN film_actor fa ON fa.film_id = f.film_id
JOIN actor a ON a.actor_id = fa.actor_id
WHERE f.title LIKE 'AL%'
GROUP BY f.film_id, f.title
ORDER BY f.title
""",
    ),
    _q(
        "sakila",
        "Which categories have the actors named Guiness, Wahlberg or Chase played in?",
        "array_agg join using_join",
        """
SELECT a.actor_id, a.first_name, a.last_name, array_agg(DISTINCT c.name ORDER BY c.name) AS categories
FROM actor a
JOIN film_actor fa USING (actor_id)
JOIN film_category fc USING (film_id)
JOIN category c USING (category_id)
WHERE a.last_name IN ('GUINESS', 'WAHLBERG', 'CHASE')
GROUP BY a.actor_id, a.first_name, a.last_name
ORDER BY a.actor_id
""",
    ),
    _q(
        "sakila",
        "How many rentals are still out in each store, since when, and what would replacing them cost?",
        "join coalesce cast date_cast",
        """
SELECT i.store_id, COUNT(*) AS outstanding, MIN(r.rental_date)::date AS oldest,
       COALESCE(SUM(f.replacement_cost), 0) AS exposure
FROM rental r
JOIN inventory i ON i.inventory_id = r.inventory_id
JOIN film f ON f.film_id = i.film_id
WHERE r.return_date IS NULL
GROUP BY i.store_id
ORDER BY i.store_id
""",
    ),
    _q(
        "sakila",
        "In countries with at least 10 addresses, how many have a second address line or lack a postal code?",
        "join nullif coalesce filter having",
        """
SELECT co.country, COUNT(*) AS addresses, COUNT(NULLIF(a.address2, '')) AS with_second_line,
       COUNT(*) FILTER (WHERE COALESCE(NULLIF(a.postal_code, ''), 'none') = 'none') AS missing_postal_code
FROM address a
JOIN city ci ON ci.city_id = a.city_id
JOIN country co ON co.country_id = ci.country_id
GROUP BY co.country
HAVING COUNT(*) >= 10
ORDER BY addresses DESC, co.country
""",
    ),
    _q(
        "sakila",
        "Which G or PG films are not stocked at all?",
        "in_subquery and_or enum",
        """
SELECT f.film_id, f.title, f.rating
FROM film f
WHERE f.film_id NOT IN (SELECT i.film_id FROM inventory i) AND (f.rating = 'G' OR f.rating = 'PG')
ORDER BY f.film_id
""",
    ),
    _q(
        "sakila",
        "Which films cost more to replace than every film in the Children category rents for times five?",
        "any_all join",
        """
SELECT f.title, f.replacement_cost
FROM film f
WHERE f.replacement_cost > ALL (
    SELECT f2.rental_rate * 5
    FROM film f2
    JOIN film_category fc ON fc.film_id = f2.film_id
    JOIN category c ON c.category_id = fc.category_id
    WHERE c.name = 'Children'
)
ORDER BY f.replacement_cost DESC, f.title
LIMIT 30
""",
    ),
    _q(
        "sakila",
        "Which rentals from the last week of May 2005 came back more than four days late?",
        "join concat_op date_arithmetic interval cast date_cast between and_or",
        """
SELECT r.rental_id, c.first_name || ' ' || c.last_name AS customer, f.title, r.rental_date, r.return_date,
       (r.return_date::date - r.rental_date::date) - f.rental_duration AS days_late
FROM rental r
JOIN customer c ON c.customer_id = r.customer_id
JOIN inventory i ON i.inventory_id = r.inventory_id
JOIN film f ON f.film_id = i.film_id
WHERE r.return_date > r.rental_date + f.rental_duration * INTERVAL '1 day' + INTERVAL '4 days'
  AND r.rental_date BETWEEN '2005-05-24' AND '2005-05-31'
ORDER BY days_late DESC, r.rental_id
LIMIT 25
""",
    ),
    _q(
        "sakila",
        "How many rentals did each staff member handle in the last 30 years, and how many are still open?",
        "join concat_op now_interval interval filter date_arithmetic",
        """
SELECT s.first_name || ' ' || s.last_name AS staff_member, COUNT(*) AS rentals,
       COUNT(*) FILTER (WHERE r.return_date IS NULL) AS open_rentals
FROM rental r
JOIN staff s ON s.staff_id = r.staff_id
WHERE r.rental_date > now() - INTERVAL '30 years'
GROUP BY s.staff_id, s.first_name, s.last_name
ORDER BY s.staff_id
""",
    ),
    _q(
        "sakila",
        "Did the Action, Comedy, Sports and Games categories meet their revenue targets?",
        "cte cte_columns values join case",
        """
WITH targets(category, target) AS (
    VALUES ('Action', 4000.00), ('Comedy', 4500.00), ('Sports', 5000.00), ('Games', 4200.00)
)
SELECT t.category, t.target, SUM(p.amount) AS actual, SUM(p.amount) >= t.target AS met,
       CASE WHEN SUM(p.amount) >= t.target * 1.1 THEN 'well above'
            WHEN SUM(p.amount) >= t.target THEN 'met'
            ELSE 'missed' END AS verdict
FROM targets t
JOIN category c ON c.name = t.category
JOIN film_category fc ON fc.category_id = c.category_id
JOIN inventory i ON i.film_id = fc.film_id
JOIN rental r ON r.inventory_id = i.inventory_id
JOIN payment p ON p.rental_id = r.rental_id
GROUP BY t.category, t.target
ORDER BY t.category
""",
    ),
    _q(
        "sakila",
        "How many rentals start in each hour of the day?",
        "recursive_cte cte cte_columns union join outer_join extract",
        """
WITH RECURSIVE hours(h) AS (
    SELECT 0
    UNION ALL
    SELECT h + 1 FROM hours WHERE h < 23
)
SELECT hours.h AS hour_of_day, COUNT(r.rental_id) AS rentals
FROM hours
LEFT JOIN rental r ON EXTRACT(HOUR FROM r.rental_date) = hours.h
GROUP BY hours.h
ORDER BY hours.h
""",
    ),
    _q(
        "sakila",
        "Store 2's most frequent active customers: average payment, revenue per rental and customer since",
        "join cast numeric_cast text_cast having and_or",
        """
SELECT c.customer_id, c.first_name, c.last_name,
       AVG(p.amount)::numeric(10,2) AS avg_payment,
       (SUM(p.amount) / COUNT(DISTINCT r.rental_id))::numeric(10,2) AS revenue_per_rental,
       c.create_date::text AS customer_since
FROM customer c
JOIN payment p ON p.customer_id = c.customer_id
JOIN rental r ON r.rental_id = p.rental_id
WHERE c.store_id = 2 AND c.active = 1
GROUP BY c.customer_id
HAVING COUNT(*) >= 35
ORDER BY avg_payment DESC, c.customer_id
LIMIT 20
""",
    ),
    _q(
        "sakila",
        "For each category, how many films does it have and which is its longest film?",
        "scalar_subquery correlated_subquery join nulls_order",
        """
SELECT c.name,
       (SELECT COUNT(*) FROM film_category fc WHERE fc.category_id = c.category_id) AS films,
       (SELECT f.title
          FROM film f JOIN film_category fc ON fc.film_id = f.film_id
         WHERE fc.category_id = c.category_id
         ORDER BY f.length DESC NULLS LAST, f.title
         LIMIT 1) AS longest_film
FROM category c
ORDER BY c.name
""",
    ),
    _q(
        "sakila",
        "Which pairs of actors have made the most films together?",
        "self_join join concat_op and_or",
        """
SELECT a1.first_name || ' ' || a1.last_name AS actor_1, a2.first_name || ' ' || a2.last_name AS actor_2,
       COUNT(*) AS films_together
FROM film_actor fa1
JOIN film_actor fa2 ON fa1.film_id = fa2.film_id AND fa1.actor_id < fa2.actor_id
JOIN actor a1 ON a1.actor_id = fa1.actor_id
JOIN actor a2 ON a2.actor_id = fa2.actor_id
GROUP BY a1.actor_id, a2.actor_id
ORDER BY films_together DESC, a1.actor_id, a2.actor_id
LIMIT 10
""",
    ),
    _q(
        "sakila",
        "Which comedies rated G shorter than 90 minutes, or dramas rated R of at least 150 minutes, rent under 3?",
        "join and_or enum",
        """
SELECT f.title, c.name AS category, f.rating, f.length, f.rental_rate
FROM film f
JOIN film_category fc ON fc.film_id = f.film_id
JOIN category c ON c.category_id = fc.category_id
WHERE ((c.name = 'Comedy' AND f.rating = 'G' AND f.length < 90)
    OR (c.name = 'Drama' AND f.rating = 'R' AND f.length >= 150))
  AND f.rental_rate < 3
ORDER BY c.name, f.title
""",
    ),
    _q(
        "sakila",
        "What share of rentals happens on each weekday?",
        "extract to_char window",
        """
SELECT EXTRACT(ISODOW FROM r.rental_date) AS iso_dow, to_char(r.rental_date, 'FMDay') AS weekday,
       COUNT(*) AS rentals,
       ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 2) AS pct
FROM rental r
GROUP BY 1, 2
ORDER BY 1
""",
    ),
    _q(
        "sakila",
        "Which films are rated PG-13 or stricter, by rating?",
        "enum cast text_cast like and_or",
        """
SELECT f.rating, f.rating::text AS rating_label, COUNT(*) AS films
FROM film f
WHERE f.rating >= 'PG-13' OR f.rating::text LIKE 'PG%'
GROUP BY f.rating
ORDER BY f.rating
""",
    ),
    _q(
        "sakila",
        "Which cities have more than one customer?",
        "derived_table using_join join",
        """
SELECT t.city, t.country, t.customers
FROM (
    SELECT ci.city, co.country, COUNT(*) AS customers
    FROM customer c
    JOIN address a USING (address_id)
    JOIN city ci USING (city_id)
    JOIN country co USING (country_id)
    GROUP BY ci.city, co.country
) AS t
WHERE t.customers > 1
ORDER BY t.customers DESC, t.city
""",
    ),
    _q(
        "sakila",
        "How many days passed between each of customer 1's rentals?",
        "window lag_lead named_window date_arithmetic extract cast date_cast",
        """
SELECT r.rental_id, r.rental_date::date AS rented_on,
       LAG(r.rental_date) OVER w AS previous_rental,
       EXTRACT(DAY FROM r.rental_date - LAG(r.rental_date) OVER w) AS days_since_previous,
       LEAD(r.rental_id) OVER w AS next_rental_id
FROM rental r
WHERE r.customer_id = 1
WINDOW w AS (ORDER BY r.rental_date, r.rental_id)
ORDER BY r.rental_date, r.rental_id
""",
    ),
    _q(
        "sakila",
        "What are the two most common special features per rating?",
        "cte derived_table window join enum",
        """
WITH features AS (
    SELECT f.rating, sf.feature, COUNT(*) AS films
    FROM film f
    CROSS JOIN unnest(f.special_features) AS sf(feature)
    GROUP BY f.rating, sf.feature
)
SELECT rating, feature, films
FROM (
    SELECT features.*, RANK() OVER (PARTITION BY rating ORDER BY films DESC, feature) AS pos FROM features
) ranked
WHERE pos <= 2
ORDER BY rating, pos
""",
    ),
    _q(
        "sakila",
        "How many customers signed up per month, and how old were their accounts at the last rental?",
        "date_trunc date_functions cast date_cast join",
        """
SELECT date_trunc('month', c.create_date)::date AS signup_month, COUNT(DISTINCT c.customer_id) AS customers,
       MAX(age(r.rental_date, c.create_date)) AS oldest_account_at_rental
FROM customer c
JOIN rental r ON r.customer_id = c.customer_id
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "sakila",
        "How many films are there, how long are they on average and which release years do they cover?",
        "domain",
        """
SELECT COUNT(*) AS films, ROUND(AVG(length), 1) AS avg_length, COUNT(DISTINCT rating) AS ratings,
       MIN(release_year) AS first_year, MAX(release_year) AS last_year
FROM film
""",
    ),
    _q(
        "sakila",
        "Who manages each store, and where is it?",
        "join concat_op",
        """
SELECT st.store_id, s.first_name || ' ' || s.last_name AS manager, a.address, ci.city
FROM store st
JOIN staff s ON s.staff_id = st.manager_staff_id
JOIN address a ON a.address_id = st.address_id
JOIN city ci ON ci.city_id = a.city_id
""",
    ),
    _q(
        "sakila",
        "What did each customer of store 1 with a first name starting with J pay in total?",
        "cte alias_reuse join like and_or",
        """
WITH p AS (
    SELECT p.customer_id, SUM(p.amount) AS total, COUNT(*) AS payments
    FROM payment p
    GROUP BY p.customer_id
)
SELECT c.customer_id, c.first_name, c.last_name, p.total, p.payments
FROM customer c
JOIN p ON p.customer_id = c.customer_id
WHERE c.store_id = 1 AND c.first_name LIKE 'J%'
ORDER BY p.total DESC, c.customer_id
""",
    ),
]

CHINOOK: list[PositiveQuery] = [
    _q(
        "chinook",
        "Which ten artists brought in the most revenue, and from how many customers?",
        "join",
        """
SELECT ar.name AS artist, SUM(il.unit_price * il.quantity) AS revenue, COUNT(DISTINCT i.customer_id) AS customers
FROM invoice_line il
JOIN invoice i ON i.invoice_id = il.invoice_id
JOIN track t ON t.track_id = il.track_id
JOIN album al ON al.album_id = t.album_id
JOIN artist ar ON ar.artist_id = al.artist_id
GROUP BY ar.artist_id, ar.name
ORDER BY revenue DESC, ar.name
LIMIT 10
""",
    ),
    _q(
        "chinook",
        "Show the employee hierarchy with each person's depth and reporting path",
        "recursive_cte cte union join concat_op cast text_cast",
        """
WITH RECURSIVE chain AS (
    SELECT e.employee_id, e.first_name || ' ' || e.last_name AS name, e.title, 0 AS depth,
           e.last_name::text AS path
    FROM employee e
    WHERE e.reports_to IS NULL
    UNION ALL
    SELECT e.employee_id, e.first_name || ' ' || e.last_name, e.title, chain.depth + 1,
           chain.path || ' > ' || e.last_name
    FROM employee e
    JOIN chain ON e.reports_to = chain.employee_id
)
SELECT employee_id, name, title, depth, path
FROM chain
ORDER BY path
""",
    ),
    _q(
        "chinook",
        "How many people report, directly or indirectly, to each manager?",
        "recursive_cte cte cte_columns union join",
        """
WITH RECURSIVE subordinates(manager_id, employee_id) AS (
    SELECT reports_to, employee_id FROM employee WHERE reports_to IS NOT NULL
    UNION ALL
    SELECT s.manager_id, e.employee_id
    FROM subordinates s
    JOIN employee e ON e.reports_to = s.employee_id
)
SELECT m.employee_id, m.first_name, m.last_name, COUNT(*) AS total_reports
FROM subordinates s
JOIN employee m ON m.employee_id = s.manager_id
GROUP BY m.employee_id, m.first_name, m.last_name
ORDER BY total_reports DESC, m.employee_id
""",
    ),
    _q(
        "chinook",
        "What did each support rep sell in 2023, 2024 and 2025?",
        "join filter extract concat_op",
        """
SELECT e.first_name || ' ' || e.last_name AS rep,
       SUM(i.total) FILTER (WHERE EXTRACT(YEAR FROM i.invoice_date) = 2023) AS sales_2023,
       SUM(i.total) FILTER (WHERE EXTRACT(YEAR FROM i.invoice_date) = 2024) AS sales_2024,
       SUM(i.total) FILTER (WHERE EXTRACT(YEAR FROM i.invoice_date) = 2025) AS sales_2025
FROM employee e
JOIN customer c ON c.support_rep_id = e.employee_id
JOIN invoice i ON i.customer_id = c.customer_id
GROUP BY e.employee_id, e.first_name, e.last_name
ORDER BY e.employee_id
""",
    ),
    _q(
        "chinook",
        "Running total of the invoices of customers 1, 2 and 3",
        "window cast date_cast",
        """
SELECT i.customer_id, i.invoice_id, i.invoice_date::date AS invoice_day, i.total,
       SUM(i.total) OVER (PARTITION BY i.customer_id ORDER BY i.invoice_date, i.invoice_id) AS running_total,
       ROW_NUMBER() OVER (PARTITION BY i.customer_id ORDER BY i.invoice_date, i.invoice_id) AS nth_invoice
FROM invoice i
WHERE i.customer_id IN (1, 2, 3)
ORDER BY i.customer_id, i.invoice_date, i.invoice_id
""",
    ),
    _q(
        "chinook",
        "What share of units does each genre have in the USA, Canada and Brazil?",
        "cte join window",
        """
WITH genre_sales AS (
    SELECT i.billing_country AS country, g.name AS genre, SUM(il.quantity) AS units
    FROM invoice i
    JOIN invoice_line il ON il.invoice_id = i.invoice_id
    JOIN track t ON t.track_id = il.track_id
    JOIN genre g ON g.genre_id = t.genre_id
    GROUP BY i.billing_country, g.name
)
SELECT gs.country, gs.genre, gs.units,
       ROUND(100.0 * gs.units / SUM(gs.units) OVER (PARTITION BY gs.country), 1) AS pct_of_country
FROM genre_sales gs
WHERE gs.country IN ('USA', 'Canada', 'Brazil')
ORDER BY gs.country, gs.units DESC, gs.genre
""",
    ),
    _q(
        "chinook",
        "What is the most popular genre in each country?",
        "distinct_on join using_join",
        """
SELECT DISTINCT ON (i.billing_country) i.billing_country AS country, g.name AS top_genre, COUNT(*) AS lines_sold
FROM invoice i
JOIN invoice_line il USING (invoice_id)
JOIN track t USING (track_id)
JOIN genre g USING (genre_id)
GROUP BY i.billing_country, g.name
ORDER BY i.billing_country, COUNT(*) DESC, g.name
""",
    ),
    _q(
        "chinook",
        "Which Rock or Metal tracks with a known composer last more than six minutes?",
        "join and_or string_functions concat_op cast text_cast",
        """
SELECT t.name AS track, g.name AS genre,
       (t.milliseconds / 60000) || ':' || lpad(((t.milliseconds / 1000) % 60)::text, 2, '0') AS duration,
       t.composer
FROM track t
JOIN genre g ON g.genre_id = t.genre_id
WHERE (g.name = 'Rock' OR g.name = 'Metal') AND t.milliseconds > 6 * 60 * 1000 AND t.composer IS NOT NULL
ORDER BY t.milliseconds DESC, t.track_id
LIMIT 20
""",
    ),
    _q(
        "chinook",
        "Which albums have at least 25 tracks, and how long are they?",
        "natural_join join having",
        """
SELECT al.title, COUNT(*) AS tracks, SUM(milliseconds) / 60000 AS minutes
FROM album al NATURAL JOIN track
GROUP BY al.album_id, al.title
HAVING COUNT(*) >= 25
ORDER BY tracks DESC, al.title
""",
    ),
    _q(
        "chinook",
        "List the albums of artists whose name starts with 'The'",
        "natural_join join like",
        """
SELECT name AS artist, title AS album
FROM artist NATURAL JOIN album
WHERE name LIKE 'The %'
ORDER BY name, title
""",
    ),
    _q(
        "chinook",
        "What are the two best-selling tracks of each genre?",
        "lateral join correlated_subquery",
        """
SELECT g.name AS genre, best.track, best.units
FROM genre g
CROSS JOIN LATERAL (
    SELECT t.track_id, t.name AS track, SUM(il.quantity) AS units
    FROM track t
    JOIN invoice_line il ON il.track_id = t.track_id
    WHERE t.genre_id = g.genre_id
    GROUP BY t.track_id, t.name
    ORDER BY units DESC, t.track_id
    LIMIT 2
) AS best
ORDER BY g.name, best.units DESC, best.track_id
""",
    ),
    _q(
        "chinook",
        "When did each German or French customer last buy, and for how much?",
        "lateral join outer_join and_or cast date_cast nulls_order correlated_subquery",
        """
SELECT c.customer_id, c.first_name, c.last_name, last_inv.invoice_date::date AS last_invoice, last_inv.total
FROM customer c
LEFT JOIN LATERAL (
    SELECT i.invoice_date, i.total
    FROM invoice i
    WHERE i.customer_id = c.customer_id
    ORDER BY i.invoice_date DESC, i.invoice_id DESC
    LIMIT 1
) last_inv ON true
WHERE c.country = 'Germany' OR c.country = 'France'
ORDER BY last_inv.invoice_date DESC NULLS LAST, c.customer_id
""",
    ),
    _q(
        "chinook",
        "Invoices and revenue by country and city in North America, with subtotals",
        "rollup nulls_order",
        """
SELECT i.billing_country, i.billing_city, COUNT(*) AS invoices, SUM(i.total) AS revenue
FROM invoice i
WHERE i.billing_country IN ('USA', 'Canada')
GROUP BY ROLLUP (i.billing_country, i.billing_city)
ORDER BY i.billing_country NULLS LAST, i.billing_city NULLS LAST
""",
    ),
    _q(
        "chinook",
        "How many tracks are there per media type and per genre?",
        "grouping_sets join nulls_order",
        """
SELECT mt.name AS media_type, g.name AS genre, COUNT(*) AS tracks
FROM track t
JOIN media_type mt ON mt.media_type_id = t.media_type_id
JOIN genre g ON g.genre_id = t.genre_id
GROUP BY GROUPING SETS ((mt.name), (g.name))
ORDER BY media_type NULLS LAST, genre NULLS LAST
""",
    ),
    _q(
        "chinook",
        "Which customers bought jazz but never metal?",
        "except join",
        """
SELECT c.customer_id, c.first_name, c.last_name
FROM customer c
JOIN invoice i ON i.customer_id = c.customer_id
JOIN invoice_line il ON il.invoice_id = i.invoice_id
JOIN track t ON t.track_id = il.track_id
JOIN genre g ON g.genre_id = t.genre_id
WHERE g.name = 'Jazz'
EXCEPT
SELECT c.customer_id, c.first_name, c.last_name
FROM customer c
JOIN invoice i ON i.customer_id = c.customer_id
JOIN invoice_line il ON il.invoice_id = i.invoice_id
JOIN track t ON t.track_id = il.track_id
JOIN genre g ON g.genre_id = t.genre_id
WHERE g.name = 'Metal'
ORDER BY customer_id
""",
    ),
    _q(
        "chinook",
        "Which tracks are on both the Grunge and the 90's Music playlists?",
        "intersect join like",
        """
SELECT t.track_id, t.name
FROM track t
JOIN playlist_track pt ON pt.track_id = t.track_id
JOIN playlist p ON p.playlist_id = pt.playlist_id
WHERE p.name = 'Grunge'
INTERSECT
SELECT t.track_id, t.name
FROM track t
JOIN playlist_track pt ON pt.track_id = t.track_id
JOIN playlist p ON p.playlist_id = pt.playlist_id
WHERE p.name LIKE '90%Music'
ORDER BY 2, 1
""",
    ),
    _q(
        "chinook",
        "In which cities do we have Canadian customers or employees?",
        "union",
        """
SELECT city, country, 'customer' AS source FROM customer WHERE country = 'Canada'
UNION
SELECT city, country, 'employee' FROM employee
ORDER BY city, source
""",
    ),
    _q(
        "chinook",
        "Which artists have albums but have never sold a track?",
        "exists correlated_subquery join and_or",
        """
SELECT ar.artist_id, ar.name
FROM artist ar
WHERE EXISTS (SELECT 1 FROM album al WHERE al.artist_id = ar.artist_id)
  AND NOT EXISTS (
    SELECT 1
    FROM album al
    JOIN track t ON t.album_id = al.album_id
    JOIN invoice_line il ON il.track_id = t.track_id
    WHERE al.artist_id = ar.artist_id
  )
ORDER BY ar.name, ar.artist_id
LIMIT 30
""",
    ),
    _q(
        "chinook",
        "Which tracks on the classical playlists last longer than the average track?",
        "any_all using_join join ilike and_or scalar_subquery",
        """
SELECT t.track_id, t.name, t.unit_price
FROM track t
WHERE t.track_id = ANY (
    SELECT pt.track_id FROM playlist_track pt JOIN playlist p USING (playlist_id) WHERE p.name ILIKE '%classic%'
) AND t.milliseconds > (SELECT AVG(milliseconds) FROM track)
ORDER BY t.name, t.track_id
LIMIT 40
""",
    ),
    _q(
        "chinook",
        "Invoices, revenue and average invoice per quarter in 2023 and 2024",
        "date_trunc to_char and_or",
        """
SELECT to_char(date_trunc('quarter', i.invoice_date), 'YYYY-"Q"Q') AS quarter, COUNT(*) AS invoices,
       SUM(i.total) AS revenue, ROUND(AVG(i.total), 2) AS avg_invoice
FROM invoice i
WHERE i.invoice_date >= TIMESTAMP '2023-01-01' AND i.invoice_date < TIMESTAMP '2025-01-01'
GROUP BY date_trunc('quarter', i.invoice_date)
ORDER BY date_trunc('quarter', i.invoice_date)
""",
    ),
    _q(
        "chinook",
        "How much did US customers spend in each month of 2024, including months without purchases?",
        "generate_series join outer_join date_trunc to_char coalesce interval and_or",
        """
SELECT to_char(m.month, 'YYYY-MM') AS month, COALESCE(SUM(i.total), 0) AS spent
FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-12-01', INTERVAL '1 month') AS m(month)
LEFT JOIN invoice i ON date_trunc('month', i.invoice_date) = m.month AND i.billing_country = 'USA'
GROUP BY m.month
ORDER BY m.month
""",
    ),
    _q(
        "chinook",
        "Which ten countries brought in the most revenue over the last 10 years?",
        "now_interval interval date_arithmetic",
        """
SELECT i.billing_country, COUNT(*) AS invoices, SUM(i.total) AS revenue
FROM invoice i
WHERE i.invoice_date >= now() - INTERVAL '10 years'
GROUP BY i.billing_country
ORDER BY revenue DESC, i.billing_country
LIMIT 10
""",
    ),
    _q(
        "chinook",
        "How old was each employee when hired, and when is their twentieth anniversary?",
        "date_functions extract date_arithmetic interval cast date_cast",
        """
SELECT e.first_name, e.last_name, e.hire_date::date AS hired,
       EXTRACT(YEAR FROM age(e.hire_date, e.birth_date)) AS age_at_hire,
       (DATE '2025-12-31' - e.hire_date::date) / 365 AS approx_years_of_service,
       e.hire_date + INTERVAL '20 years' AS twentieth_anniversary
FROM employee e
ORDER BY e.hire_date, e.employee_id
""",
    ),
    _q(
        "chinook",
        "Which customers waited longest between two purchases?",
        "cte window lag_lead join date_arithmetic",
        """
WITH ordered AS (
    SELECT i.customer_id, i.invoice_date,
           i.invoice_date - LAG(i.invoice_date) OVER (PARTITION BY i.customer_id
                                                      ORDER BY i.invoice_date, i.invoice_id) AS gap
    FROM invoice i
)
SELECT o.customer_id, c.first_name, c.last_name, MAX(o.gap) AS longest_gap, AVG(o.gap) AS average_gap
FROM ordered o
JOIN customer c ON c.customer_id = o.customer_id
GROUP BY o.customer_id, c.first_name, c.last_name
ORDER BY longest_gap DESC, o.customer_id
LIMIT 10
""",
    ),
    _q(
        "chinook",
        "For each invoice of customer 5, when was the next one and how many days later?",
        "window lag_lead named_window cast date_cast date_arithmetic",
        """
SELECT i.invoice_id, i.invoice_date::date AS day,
       LEAD(i.invoice_date::date) OVER w AS next_day,
       LEAD(i.invoice_date::date) OVER w - i.invoice_date::date AS days_until_next
FROM invoice i
WHERE i.customer_id = 5
WINDOW w AS (ORDER BY i.invoice_date, i.invoice_id)
ORDER BY i.invoice_date, i.invoice_id
""",
    ),
    _q(
        "chinook",
        "Split the audio tracks into five length buckets: how many tracks and what range in each?",
        "derived_table window ntile",
        """
SELECT bucket, COUNT(*) AS tracks, MIN(milliseconds) / 1000 AS shortest_s, MAX(milliseconds) / 1000 AS longest_s
FROM (
    SELECT t.milliseconds, NTILE(5) OVER (ORDER BY t.milliseconds, t.track_id) AS bucket
    FROM track t
    WHERE t.media_type_id <> 3
) AS b
GROUP BY bucket
ORDER BY bucket
""",
    ),
    _q(
        "chinook",
        "Median and quartiles of invoice totals in countries with at least 10 invoices",
        "percentile having",
        """
SELECT i.billing_country, COUNT(*) AS invoices,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY i.total) AS median_total,
       percentile_cont(ARRAY[0.25, 0.75]) WITHIN GROUP (ORDER BY i.total) AS quartiles
FROM invoice i
GROUP BY i.billing_country
HAVING COUNT(*) >= 10
ORDER BY median_total DESC, i.billing_country
""",
    ),
    _q(
        "chinook",
        "Which email domains do several customers share, and who are they?",
        "string_functions string_agg having",
        """
SELECT lower(substring(c.email FROM position('@' IN c.email) + 1)) AS domain, COUNT(*) AS customers,
       string_agg(c.first_name, ', ' ORDER BY c.first_name) AS names
FROM customer c
GROUP BY 1
HAVING COUNT(*) > 1
ORDER BY customers DESC, domain
""",
    ),
    _q(
        "chinook",
        "Which live or remastered tracks have a parenthesised suffix, and what is the bare title?",
        "regex string_functions and_or",
        """
SELECT t.track_id, t.name, regexp_replace(t.name, ' *[(][^)]*[)]$', '') AS base_name
FROM track t
WHERE t.name ~ '[(].*[)]$' AND t.name ~* 'live|remaster'
ORDER BY t.track_id
LIMIT 30
""",
    ),
    _q(
        "chinook",
        "For customers in the USA or without a state, do the invoices' billing addresses match the customer's?",
        "is_distinct_from filter join and_or",
        """
SELECT c.country, COUNT(*) AS invoices,
       COUNT(*) FILTER (WHERE i.billing_state IS NOT DISTINCT FROM c.state) AS same_state,
       COUNT(*) FILTER (WHERE i.billing_city IS DISTINCT FROM c.city
                           OR i.billing_postal_code IS DISTINCT FROM c.postal_code) AS other_address
FROM invoice i
JOIN customer c ON c.customer_id = i.customer_id
WHERE c.state IS NULL OR c.country = 'USA'
GROUP BY c.country
ORDER BY invoices DESC, c.country
""",
    ),
    _q(
        "chinook",
        "Customers in Brazil, Canada and the USA with their company (or private) and region",
        "coalesce nullif concat_op",
        """
SELECT c.customer_id, c.first_name || ' ' || c.last_name AS customer, COALESCE(c.company, '(private)') AS company,
       COALESCE(c.state, c.country) AS region, NULLIF(c.fax, '') IS NULL AS no_fax
FROM customer c
WHERE c.country IN ('Brazil', 'Canada', 'USA')
ORDER BY c.country, c.customer_id
""",
    ),
    _q(
        "chinook",
        "How many short, medium and long tracks are there per media type, and what do they cost?",
        "case using_join join",
        """
SELECT CASE WHEN t.milliseconds < 180000 THEN 'short'
            WHEN t.milliseconds < 300000 THEN 'medium'
            ELSE 'long' END AS length_class,
       mt.name AS media_type, COUNT(*) AS tracks, ROUND(AVG(t.unit_price), 2) AS avg_price
FROM track t
JOIN media_type mt USING (media_type_id)
GROUP BY 1, 2
ORDER BY 1, 2
""",
    ),
    _q(
        "chinook",
        "Which support reps have the most customers and revenue outside the USA?",
        "cte alias_reuse join using_join and_or",
        """
WITH c AS (
    SELECT x.support_rep_id AS employee_id, COUNT(DISTINCT x.customer_id) AS n, SUM(d.total) AS revenue
    FROM customer x
    JOIN invoice d ON d.customer_id = x.customer_id
    WHERE d.billing_country <> 'USA' AND d.total > 1
    GROUP BY x.support_rep_id
)
SELECT x.employee_id, d.first_name, d.last_name, x.n, x.revenue
FROM c x
JOIN employee d USING (employee_id)
ORDER BY x.revenue DESC, x.employee_id
""",
    ),
    _q(
        "chinook",
        "On which playlists are the tracks of album 1?",
        "array_agg join",
        """
SELECT t.track_id, t.name, array_agg(p.name ORDER BY p.name, p.playlist_id) AS playlists, COUNT(*) AS n
FROM track t
JOIN playlist_track pt ON pt.track_id = t.track_id
JOIN playlist p ON p.playlist_id = pt.playlist_id
WHERE t.album_id = 1
GROUP BY t.track_id, t.name
ORDER BY t.track_id
""",
    ),
    _q(
        "chinook",
        "What does a customer spend on average in each country with at least two customers?",
        "derived_table join cast numeric_cast having",
        """
SELECT per_customer.country, COUNT(*) AS customers,
       AVG(per_customer.spent)::numeric(10,2) AS avg_spent_per_customer,
       MAX(per_customer.spent) AS top_spender_total
FROM (
    SELECT c.customer_id, c.country, SUM(i.total) AS spent
    FROM customer c
    JOIN invoice i ON i.customer_id = c.customer_id
    GROUP BY c.customer_id, c.country
) per_customer
GROUP BY per_customer.country
HAVING COUNT(*) >= 2
ORDER BY avg_spent_per_customer DESC, per_customer.country
""",
    ),
    _q(
        "chinook",
        "Invoices between 1 and 20 in the summer of 2024, per month",
        "between extract to_char cast and_or",
        """
SELECT EXTRACT(MONTH FROM i.invoice_date)::int AS month, to_char(i.invoice_date, 'Mon') AS month_name,
       COUNT(*) AS invoices, SUM(i.total) AS revenue
FROM invoice i
WHERE i.invoice_date BETWEEN '2024-06-01' AND '2024-08-31 23:59:59' AND i.total BETWEEN 1 AND 20
GROUP BY 1, 2
ORDER BY 1
""",
    ),
    _q(
        "chinook",
        "Which customers spend more than the average customer of their country?",
        "derived_table scalar_subquery correlated_subquery join",
        """
SELECT c.customer_id, c.first_name, c.last_name, c.country, s.spent
FROM customer c
JOIN (SELECT customer_id, SUM(total) AS spent FROM invoice GROUP BY customer_id) s ON s.customer_id = c.customer_id
WHERE s.spent > (
    SELECT AVG(s2.spent)
    FROM (SELECT i2.customer_id, SUM(i2.total) AS spent FROM invoice i2 GROUP BY i2.customer_id) s2
    JOIN customer c2 ON c2.customer_id = s2.customer_id
    WHERE c2.country = c.country
)
ORDER BY c.country, s.spent DESC, c.customer_id
""",
    ),
    _q(
        "chinook",
        "How did units sold per genre change from 2023 to 2024?",
        "cte outer_join join extract coalesce",
        """
WITH y23 AS (
    SELECT t.genre_id, SUM(il.quantity) AS units
    FROM invoice_line il
    JOIN invoice i ON i.invoice_id = il.invoice_id
    JOIN track t ON t.track_id = il.track_id
    WHERE EXTRACT(YEAR FROM i.invoice_date) = 2023
    GROUP BY t.genre_id
), y24 AS (
    SELECT t.genre_id, SUM(il.quantity) AS units
    FROM invoice_line il
    JOIN invoice i ON i.invoice_id = il.invoice_id
    JOIN track t ON t.track_id = il.track_id
    WHERE EXTRACT(YEAR FROM i.invoice_date) = 2024
    GROUP BY t.genre_id
)
SELECT g.name AS genre, COALESCE(y23.units, 0) AS units_2023, COALESCE(y24.units, 0) AS units_2024,
       COALESCE(y24.units, 0) - COALESCE(y23.units, 0) AS change
FROM y23
FULL OUTER JOIN y24 ON y24.genre_id = y23.genre_id
JOIN genre g ON g.genre_id = COALESCE(y23.genre_id, y24.genre_id)
ORDER BY change DESC, genre
""",
    ),
    _q(
        "chinook",
        "How many audio and video tracks are there?",
        "values join outer_join any_all",
        """
SELECT v.label, COUNT(t.track_id) AS tracks
FROM (VALUES ('audio', ARRAY[1, 2, 4, 5]), ('video', ARRAY[3])) AS v(label, media_ids)
LEFT JOIN track t ON t.media_type_id = ANY (v.media_ids)
GROUP BY v.label
ORDER BY v.label
""",
    ),
    _q(
        "chinook",
        "Daily revenue in 2025 with the revenue of the 30 days up to each day",
        "window window_frame interval cast date_cast",
        """
SELECT i.invoice_date::date AS day, SUM(i.total) AS revenue,
       SUM(SUM(i.total)) OVER (ORDER BY i.invoice_date::date
                               RANGE BETWEEN INTERVAL '30 days' PRECEDING AND CURRENT ROW) AS revenue_last_30_days
FROM invoice i
WHERE i.invoice_date >= '2025-01-01'
GROUP BY i.invoice_date::date
ORDER BY day
""",
    ),
    _q(
        "chinook",
        "Which composers wrote tracks for more than three albums (names containing 'Jagger' or 'Page' excluded)?",
        "join having and_or like",
        """
SELECT t.composer, COUNT(DISTINCT t.album_id) AS albums, COUNT(*) AS tracks
FROM track t
JOIN album a ON a.album_id = t.album_id
WHERE t.composer IS NOT NULL AND t.composer NOT LIKE '%Jagger%' AND t.composer NOT LIKE '%Page%'
GROUP BY t.composer
HAVING COUNT(DISTINCT t.album_id) > 3
ORDER BY albums DESC, t.composer
""",
    ),
    _q(
        "chinook",
        "Which playlists have no tracks at all?",
        "in_subquery",
        """
SELECT p.playlist_id, p.name
FROM playlist p
WHERE p.playlist_id NOT IN (SELECT pt.playlist_id FROM playlist_track pt)
ORDER BY p.playlist_id
""",
    ),
    _q(
        "chinook",
        "How many invoices, how much revenue and what average invoice in 2024?",
        "and_or",
        """
SELECT COUNT(*) AS invoices, SUM(total) AS revenue, ROUND(AVG(total), 2) AS avg_invoice
FROM invoice
WHERE invoice_date >= '2024-01-01' AND invoice_date < '2025-01-01'
""",
    ),
    _q(
        "chinook",
        "How did revenue grow from year to year?",
        "cte join outer_join extract cast",
        """
WITH yearly AS (
    SELECT EXTRACT(YEAR FROM invoice_date)::int AS year, SUM(total) AS revenue
    FROM invoice
    GROUP BY 1
)
SELECT cur.year, cur.revenue, prev.revenue AS previous_revenue, cur.revenue - prev.revenue AS growth
FROM yearly cur
LEFT JOIN yearly prev ON prev.year = cur.year - 1
""",
    ),
]

NORTHWIND: list[PositiveQuery] = [
    _q(
        "northwind",
        "What is the net revenue of each product category, and from how many orders?",
        "join cast",
        """
SELECT c.category_name,
       ROUND(SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric), 2) AS revenue,
       COUNT(DISTINCT od.order_id) AS orders
FROM order_details od
JOIN products p ON p.product_id = od.product_id
JOIN categories c ON c.category_id = p.category_id
GROUP BY c.category_name
ORDER BY revenue DESC, c.category_name
""",
    ),
    _q(
        "northwind",
        "Show the reporting chain of every employee with their level and manager",
        "recursive_cte cte union join outer_join concat_op",
        """
WITH RECURSIVE org AS (
    SELECT employee_id, first_name, last_name, reports_to, 1 AS level, ARRAY[employee_id] AS chain
    FROM employees
    WHERE reports_to IS NULL
    UNION ALL
    SELECT e.employee_id, e.first_name, e.last_name, e.reports_to, org.level + 1, org.chain || e.employee_id
    FROM employees e
    JOIN org ON e.reports_to = org.employee_id
)
SELECT org.employee_id, org.first_name || ' ' || org.last_name AS employee, org.level, org.chain,
       m.first_name || ' ' || m.last_name AS manager
FROM org
LEFT JOIN employees m ON m.employee_id = org.reports_to
ORDER BY org.chain
""",
    ),
    _q(
        "northwind",
        "For each shipper, how many orders shipped late and how long does shipping take on average?",
        "join filter date_arithmetic",
        """
SELECT s.company_name AS shipper, COUNT(*) AS shipped,
       COUNT(*) FILTER (WHERE o.shipped_date > o.required_date) AS late,
       ROUND(100.0 * COUNT(*) FILTER (WHERE o.shipped_date > o.required_date) / COUNT(*), 1) AS pct_late,
       ROUND(AVG(o.shipped_date - o.order_date), 1) AS avg_days_to_ship
FROM orders o
JOIN shippers s ON s.shipper_id = o.ship_via
WHERE o.shipped_date IS NOT NULL
GROUP BY s.company_name
ORDER BY s.company_name
""",
    ),
    _q(
        "northwind",
        "How many orders were placed in each month of 1997?",
        "generate_series join outer_join to_char interval date_arithmetic and_or",
        """
SELECT to_char(m, 'YYYY-MM') AS month, COUNT(o.order_id) AS orders
FROM generate_series(DATE '1997-01-01', DATE '1997-12-01', INTERVAL '1 month') AS m
LEFT JOIN orders o ON o.order_date >= m AND o.order_date < m + INTERVAL '1 month'
GROUP BY m
ORDER BY m
""",
    ),
    _q(
        "northwind",
        "Who is the best customer of each country?",
        "cte distinct_on join cast",
        """
WITH customer_revenue AS (
    SELECT o.customer_id, SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric) AS revenue
    FROM orders o
    JOIN order_details od ON od.order_id = o.order_id
    GROUP BY o.customer_id
)
SELECT DISTINCT ON (c.country) c.country, c.company_name, ROUND(cr.revenue, 2) AS revenue
FROM customer_revenue cr
JOIN customers c ON c.customer_id = cr.customer_id
ORDER BY c.country, cr.revenue DESC, c.customer_id
""",
    ),
    _q(
        "northwind",
        "Which active products need reordering, and which discontinued ones are still in stock?",
        "and_or",
        """
SELECT p.product_id, p.product_name, p.units_in_stock, p.units_on_order, p.reorder_level, p.discontinued
FROM products p
WHERE (p.units_in_stock + p.units_on_order <= p.reorder_level AND p.discontinued = 0)
   OR (p.discontinued = 1 AND p.units_in_stock > 0)
ORDER BY p.discontinued, p.product_name
""",
    ),
    _q(
        "northwind",
        "How do the employees rank by sales in each year?",
        "cte join window extract cast concat_op",
        """
WITH sales AS (
    SELECT o.employee_id, EXTRACT(YEAR FROM o.order_date)::int AS year,
           SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric) AS revenue
    FROM orders o
    JOIN order_details od ON od.order_id = o.order_id
    GROUP BY o.employee_id, EXTRACT(YEAR FROM o.order_date)
)
SELECT s.year, e.first_name || ' ' || e.last_name AS employee, ROUND(s.revenue, 2) AS revenue,
       RANK() OVER (PARTITION BY s.year ORDER BY s.revenue DESC) AS rank_in_year
FROM sales s
JOIN employees e ON e.employee_id = s.employee_id
ORDER BY s.year, rank_in_year, employee
""",
    ),
    _q(
        "northwind",
        "How did revenue change from month to month?",
        "cte using_join join date_trunc cast date_cast window lag_lead nullif",
        """
WITH monthly AS (
    SELECT date_trunc('month', o.order_date)::date AS month,
           SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric) AS revenue
    FROM orders o
    JOIN order_details od USING (order_id)
    GROUP BY 1
)
SELECT month, ROUND(revenue, 2) AS revenue,
       ROUND(revenue - LAG(revenue) OVER (ORDER BY month), 2) AS change,
       ROUND(100 * (revenue / NULLIF(LAG(revenue) OVER (ORDER BY month), 0) - 1), 1) AS pct_change
FROM monthly
ORDER BY month
""",
    ),
    _q(
        "northwind",
        "Split the customers into five groups by number of orders: how many orders does each group place?",
        "cte join window ntile",
        """
WITH counts AS (
    SELECT c.customer_id, COUNT(o.order_id) AS orders
    FROM customers c
    JOIN orders o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id
), groups AS (
    SELECT customer_id, orders, NTILE(5) OVER (ORDER BY orders DESC, customer_id) AS quintile FROM counts
)
SELECT quintile, COUNT(*) AS customers, SUM(orders) AS orders, MIN(orders) AS fewest, MAX(orders) AS most
FROM groups
GROUP BY quintile
ORDER BY quintile
""",
    ),
    _q(
        "northwind",
        "Median and maximum freight per destination country with at least 20 orders",
        "percentile having",
        """
SELECT o.ship_country, COUNT(*) AS orders,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY o.freight) AS median_freight,
       MAX(o.freight) AS max_freight
FROM orders o
GROUP BY o.ship_country
HAVING COUNT(*) >= 20
ORDER BY median_freight DESC, o.ship_country
""",
    ),
    _q(
        "northwind",
        "What are the three best-selling products of each category?",
        "lateral join correlated_subquery",
        """
SELECT c.category_name, tp.product_name, tp.units_sold
FROM categories c
JOIN LATERAL (
    SELECT p.product_id, p.product_name, SUM(od.quantity) AS units_sold
    FROM products p
    JOIN order_details od ON od.product_id = p.product_id
    WHERE p.category_id = c.category_id
    GROUP BY p.product_id, p.product_name
    ORDER BY units_sold DESC, p.product_id
    LIMIT 3
) tp ON true
ORDER BY c.category_name, tp.units_sold DESC, tp.product_id
""",
    ),
    _q(
        "northwind",
        "How many orders did each employee take in 1998?",
        "natural_join join concat_op",
        """
SELECT first_name || ' ' || last_name AS employee, COUNT(*) AS orders_1998
FROM orders NATURAL JOIN employees
WHERE order_date >= '1998-01-01'
GROUP BY employee_id, first_name, last_name
ORDER BY orders_1998 DESC, employee
""",
    ),
    _q(
        "northwind",
        "Customers and orders in Germany, France, the UK, Spain and countries starting with B",
        "natural_join join ilike and_or",
        """
SELECT country, COUNT(DISTINCT customer_id) AS customers, COUNT(*) AS orders
FROM orders NATURAL JOIN customers
WHERE country IN ('Germany', 'France', 'UK', 'Spain') OR country ILIKE 'b%'
GROUP BY country
ORDER BY orders DESC, country
""",
    ),
    _q(
        "northwind",
        "Who are our customer and supplier contacts in London, Paris and Berlin?",
        "union",
        """
SELECT 'Customer' AS type, company_name, contact_name, city, country
FROM customers
WHERE city IN ('London', 'Paris', 'Berlin')
UNION ALL
SELECT 'Supplier', company_name, contact_name, city, country
FROM suppliers
WHERE city IN ('London', 'Paris', 'Berlin')
ORDER BY city, type, company_name
""",
    ),
    _q(
        "northwind",
        "Which countries have both customers and suppliers?",
        "intersect",
        """
SELECT country FROM customers
INTERSECT
SELECT country FROM suppliers
ORDER BY country
""",
    ),
    _q(
        "northwind",
        "Which products have never been ordered by a German customer?",
        "except join",
        """
SELECT p.product_name FROM products p
EXCEPT
SELECT p.product_name
FROM products p
JOIN order_details od ON od.product_id = p.product_id
JOIN orders o ON o.order_id = od.order_id
JOIN customers c ON c.customer_id = o.customer_id
WHERE c.country = 'Germany'
ORDER BY product_name
""",
    ),
    _q(
        "northwind",
        "Which customers outside the USA ordered both in 1996 and in 1998?",
        "exists correlated_subquery extract and_or",
        """
SELECT c.customer_id, c.company_name
FROM customers c
WHERE EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND EXTRACT(YEAR FROM o.order_date) = 1996)
  AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id AND o.order_date >= DATE '1998-01-01')
  AND c.country <> 'USA'
ORDER BY c.customer_id
""",
    ),
    _q(
        "northwind",
        "Which customers have never ordered?",
        "exists correlated_subquery",
        """
SELECT c.customer_id, c.company_name, c.country
FROM customers c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)
ORDER BY c.customer_id
""",
    ),
    _q(
        "northwind",
        "Which products over 20 come from Japanese or German suppliers?",
        "in_subquery and_or",
        """
SELECT p.product_name, p.unit_price, p.supplier_id
FROM products p
WHERE p.supplier_id IN (SELECT s.supplier_id FROM suppliers s WHERE s.country IN ('Japan', 'Germany'))
  AND p.unit_price > 20
ORDER BY p.unit_price DESC, p.product_name
""",
    ),
    _q(
        "northwind",
        "Which products cost more than every condiment?",
        "any_all join",
        """
SELECT p.product_name, p.unit_price
FROM products p
WHERE p.unit_price > ALL (
    SELECT p2.unit_price
    FROM products p2
    JOIN categories c ON c.category_id = p2.category_id
    WHERE c.category_name = 'Condiments'
)
ORDER BY p.unit_price DESC, p.product_name
""",
    ),
    _q(
        "northwind",
        "Revenue by country and city for Germany, France and Brazil, with subtotals",
        "rollup join cast nulls_order",
        """
SELECT c.country, c.city, ROUND(SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric), 2) AS revenue
FROM customers c
JOIN orders o ON o.customer_id = c.customer_id
JOIN order_details od ON od.order_id = o.order_id
WHERE c.country IN ('Germany', 'France', 'Brazil')
GROUP BY ROLLUP (c.country, c.city)
ORDER BY c.country NULLS LAST, c.city NULLS LAST
""",
    ),
    _q(
        "northwind",
        "Number of orders per destination country, per employee, and in total",
        "grouping_sets nulls_order",
        """
SELECT o.ship_country, o.employee_id, COUNT(*) AS orders
FROM orders o
GROUP BY GROUPING SETS ((o.ship_country), (o.employee_id), ())
ORDER BY o.ship_country NULLS LAST, o.employee_id NULLS LAST
""",
    ),
    _q(
        "northwind",
        "Units sold by category and year, with all subtotals",
        "cube join extract cast nulls_order",
        """
SELECT c.category_name, EXTRACT(YEAR FROM o.order_date)::int AS year, SUM(od.quantity) AS units
FROM order_details od
JOIN orders o ON o.order_id = od.order_id
JOIN products p ON p.product_id = od.product_id
JOIN categories c ON c.category_id = p.category_id
GROUP BY CUBE (c.category_name, EXTRACT(YEAR FROM o.order_date)::int)
ORDER BY c.category_name NULLS FIRST, year NULLS FIRST
""",
    ),
    _q(
        "northwind",
        "Short names and compact phone numbers of customer contacts who are owners and have no fax",
        "string_functions concat_op ilike and_or",
        """
SELECT upper(left(c.contact_name, 1)) || '. ' || split_part(c.contact_name, ' ', 2) AS short_name,
       c.company_name, replace(replace(c.phone, ' ', ''), '.', '') AS phone_compact,
       length(c.company_name) AS name_length
FROM customers c
WHERE c.contact_title ILIKE '%owner%' AND c.fax IS NULL
ORDER BY c.company_name
""",
    ),
    _q(
        "northwind",
        "Per country, how many customers have a numeric postal code and a phone with an area code in parentheses?",
        "regex filter",
        """
SELECT c.country,
       COUNT(*) FILTER (WHERE c.postal_code ~ '^[0-9]+$') AS numeric_postal,
       COUNT(*) FILTER (WHERE c.postal_code !~ '^[0-9]+$') AS other_postal,
       COUNT(*) FILTER (WHERE c.phone ~* '^[(][0-9]+[)]') AS phone_with_area_code
FROM customers c
GROUP BY c.country
ORDER BY c.country
""",
    ),
    _q(
        "northwind",
        "Which orders were shipped to another city or region than the customer's?",
        "is_distinct_from join and_or",
        """
SELECT o.order_id, c.company_name, c.city AS customer_city, o.ship_city, c.region, o.ship_region
FROM orders o
JOIN customers c ON c.customer_id = o.customer_id
WHERE o.ship_city IS DISTINCT FROM c.city OR o.ship_region IS DISTINCT FROM c.region
ORDER BY o.order_id
LIMIT 50
""",
    ),
    _q(
        "northwind",
        "How many customers are there per region, using the country when there is no region?",
        "coalesce is_distinct_from case having",
        """
SELECT COALESCE(c.region, c.country) AS area,
       CASE WHEN c.region IS NOT DISTINCT FROM NULL THEN 'country' ELSE 'region' END AS level,
       COUNT(*) AS customers
FROM customers c
GROUP BY 1, 2
HAVING COUNT(*) >= 2
ORDER BY customers DESC, area
""",
    ),
    _q(
        "northwind",
        "How quickly are orders shipped?",
        "case date_arithmetic coalesce cast",
        """
SELECT CASE WHEN o.shipped_date IS NULL THEN 'not shipped'
            WHEN o.shipped_date - o.order_date <= 3 THEN '0-3 days'
            WHEN o.shipped_date - o.order_date <= 7 THEN '4-7 days'
            ELSE 'over a week' END AS shipping_time,
       COUNT(*) AS orders, ROUND(AVG(o.freight)::numeric, 2) AS avg_freight
FROM orders o
GROUP BY 1
ORDER BY MIN(COALESCE(o.shipped_date - o.order_date, 999))
""",
    ),
    _q(
        "northwind",
        "How old was each employee at the date of the last order, and when was their fifth anniversary?",
        "date_functions extract date_arithmetic interval cast date_cast",
        """
SELECT e.employee_id, e.first_name, e.last_name, e.title_of_courtesy,
       date_part('year', age(DATE '1998-05-06', e.birth_date)) AS age_at_last_order,
       e.hire_date + INTERVAL '5 years' AS fifth_anniversary,
       (e.hire_date + INTERVAL '5 years')::date <= DATE '1998-05-06' AS reached_by_last_order
FROM employees e
ORDER BY e.birth_date
""",
    ),
    _q(
        "northwind",
        "How many orders older than 25 years were never shipped, per employee?",
        "now_interval interval join outer_join date_arithmetic and_or",
        """
SELECT e.employee_id, e.last_name, COUNT(o.order_id) AS unshipped_old_orders
FROM employees e
LEFT JOIN orders o
       ON o.employee_id = e.employee_id AND o.shipped_date IS NULL AND o.order_date < now() - INTERVAL '25 years'
GROUP BY e.employee_id, e.last_name
ORDER BY e.employee_id
""",
    ),
    _q(
        "northwind",
        "How many active products with stock or on order does each category have, and at what average price?",
        "cte alias_reuse join using_join and_or cast",
        """
WITH c AS (
    SELECT d.category_id, COUNT(x.product_id) AS n, ROUND(AVG(x.unit_price)::numeric, 2) AS avg_price
    FROM products x
    JOIN categories d ON d.category_id = x.category_id
    WHERE x.discontinued = 0 AND (x.units_in_stock > 0 OR x.units_on_order > 0)
    GROUP BY d.category_id
)
SELECT x.category_id, d.category_name, x.n, x.avg_price
FROM c x
JOIN categories d USING (category_id)
ORDER BY x.n DESC, x.category_id
""",
    ),
    _q(
        "northwind",
        "Which products does each supplier in Europe offer?",
        "string_agg join",
        """
SELECT s.company_name, s.country, string_agg(p.product_name, '; ' ORDER BY p.product_name) AS products,
       COUNT(*) AS product_count
FROM suppliers s
JOIN products p ON p.supplier_id = s.supplier_id
WHERE s.country IN ('UK', 'Germany', 'France', 'Italy', 'Sweden', 'Norway', 'Denmark', 'Finland', 'Spain',
                    'Netherlands')
GROUP BY s.supplier_id, s.company_name, s.country
ORDER BY s.country, s.company_name
""",
    ),
    _q(
        "northwind",
        "In which regions does each employee have territories, and how many territories?",
        "array_agg join",
        """
SELECT e.employee_id, e.last_name,
       array_agg(DISTINCT r.region_description ORDER BY r.region_description) AS regions,
       COUNT(et.territory_id) AS territories
FROM employees e
JOIN employee_territories et ON et.employee_id = e.employee_id
JOIN territories t ON t.territory_id = et.territory_id
JOIN region r ON r.region_id = t.region_id
GROUP BY e.employee_id, e.last_name
ORDER BY e.employee_id
""",
    ),
    _q(
        "northwind",
        "Which twenty products make the most revenue, with the cumulative share of total revenue?",
        "cte join window window_frame cast",
        """
WITH product_revenue AS (
    SELECT p.product_name, SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric) AS revenue
    FROM order_details od
    JOIN products p ON p.product_id = od.product_id
    GROUP BY p.product_name
)
SELECT product_name, ROUND(revenue, 2) AS revenue,
       ROUND(100 * SUM(revenue) OVER (ORDER BY revenue DESC, product_name
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
             / SUM(revenue) OVER (), 2) AS cumulative_pct
FROM product_revenue
ORDER BY revenue DESC, product_name
LIMIT 20
""",
    ),
    _q(
        "northwind",
        "How many orders and how much freight fall into the light, medium and heavy freight tiers?",
        "values join outer_join cast and_or",
        """
SELECT t.tier, COUNT(o.order_id) AS orders, ROUND(SUM(o.freight::numeric), 2) AS freight
FROM (VALUES ('light', 0, 25), ('medium', 25, 100), ('heavy', 100, 100000)) AS t(tier, low, high)
LEFT JOIN orders o ON o.freight >= t.low AND o.freight < t.high
GROUP BY t.tier, t.low
ORDER BY t.low
""",
    ),
    _q(
        "northwind",
        "What is the average order value of the ten customers with the highest one?",
        "derived_table join cast numeric_cast",
        """
SELECT c.company_name, per_order.orders, per_order.avg_order_value
FROM (
    SELECT o.customer_id, COUNT(DISTINCT o.order_id) AS orders,
           (SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric)
            / COUNT(DISTINCT o.order_id))::numeric(10,2) AS avg_order_value
    FROM orders o
    JOIN order_details od ON od.order_id = o.order_id
    GROUP BY o.customer_id
) per_order
JOIN customers c ON c.customer_id = per_order.customer_id
ORDER BY per_order.avg_order_value DESC, c.company_name
LIMIT 10
""",
    ),
    _q(
        "northwind",
        "On which weekday are most orders placed?",
        "extract to_char",
        """
SELECT EXTRACT(DOW FROM o.order_date) AS dow, to_char(o.order_date, 'FMDay') AS weekday, COUNT(*) AS orders
FROM orders o
GROUP BY 1, 2
ORDER BY orders DESC, dow
""",
    ),
    _q(
        "northwind",
        "Give me labels for the ten most recent unshipped orders",
        "concat_op cast text_cast to_char",
        """
SELECT '#' || o.order_id::text || ' for ' || o.ship_name AS label,
       to_char(o.order_date, 'DD Mon YYYY') AS ordered, o.required_date::text AS required
FROM orders o
WHERE o.shipped_date IS NULL
ORDER BY o.order_date DESC, o.order_id DESC
LIMIT 10
""",
    ),
    _q(
        "northwind",
        "How many orders did each shipper carry per year?",
        "join filter extract",
        """
SELECT s.company_name,
       COUNT(*) FILTER (WHERE EXTRACT(YEAR FROM o.order_date) = 1996) AS orders_1996,
       COUNT(*) FILTER (WHERE EXTRACT(YEAR FROM o.order_date) = 1997) AS orders_1997,
       COUNT(*) FILTER (WHERE EXTRACT(YEAR FROM o.order_date) = 1998) AS orders_1998
FROM shippers s
JOIN orders o ON o.ship_via = s.shipper_id
GROUP BY s.shipper_id, s.company_name
ORDER BY s.shipper_id
""",
    ),
    _q(
        "northwind",
        "How does each beverage's price compare with its category's average price?",
        "scalar_subquery correlated_subquery join cast numeric_cast",
        """
SELECT p.product_name, p.unit_price,
       (SELECT AVG(p2.unit_price) FROM products p2 WHERE p2.category_id = p.category_id)::numeric(10,2)
           AS category_avg,
       (p.unit_price - (SELECT AVG(p2.unit_price) FROM products p2 WHERE p2.category_id = p.category_id))::numeric(10,2)
           AS difference
FROM products p
JOIN categories c ON c.category_id = p.category_id
WHERE c.category_name = 'Beverages'
ORDER BY difference DESC, p.product_name
""",
    ),
    _q(
        "northwind",
        "Which orders between 1 and 15 July 1997 were worth more than 1000 after discount?",
        "join between cast having",
        """
SELECT o.order_id, o.order_date, o.customer_id,
       ROUND(SUM((od.unit_price * od.quantity * (1 - od.discount))::numeric), 2) AS order_value
FROM orders o
JOIN order_details od ON od.order_id = o.order_id
WHERE o.order_date BETWEEN '1997-07-01' AND '1997-07-15'
GROUP BY o.order_id, o.order_date, o.customer_id
HAVING SUM(od.unit_price * od.quantity * (1 - od.discount)) > 1000
ORDER BY o.order_date, o.order_id
""",
    ),
    _q(
        "northwind",
        "Which employees are managers, and who is in the same city as their manager?",
        "self_join join outer_join case concat_op",
        """
SELECT e.first_name || ' ' || e.last_name AS employee, m.first_name || ' ' || m.last_name AS manager,
       CASE WHEN e.city = m.city THEN 'same city' ELSE 'elsewhere' END AS location
FROM employees e
LEFT JOIN employees m ON m.employee_id = e.reports_to
ORDER BY e.employee_id
""",
    ),
    _q(
        "northwind",
        "Which orders were placed in the first week of each quarter of 1997?",
        "date_trunc date_arithmetic interval extract and_or",
        """
SELECT EXTRACT(QUARTER FROM o.order_date) AS quarter, COUNT(*) AS orders, MIN(o.order_date) AS first_order
FROM orders o
WHERE o.order_date < date_trunc('quarter', o.order_date) + INTERVAL '7 days'
  AND o.order_date >= DATE '1997-01-01' AND o.order_date < DATE '1998-01-01'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "northwind",
        "How many orders were shipped late overall, and how many are still unshipped?",
        "filter",
        """
SELECT COUNT(*) FILTER (WHERE shipped_date > required_date) AS late,
       COUNT(*) FILTER (WHERE shipped_date IS NULL) AS unshipped,
       COUNT(*) AS total
FROM orders
""",
    ),
    _q(
        "northwind",
        "How many orders were placed in each month of 1997 compared with the month before?",
        "cte date_trunc to_char join outer_join interval date_arithmetic and_or",
        """
WITH monthly AS (
    SELECT date_trunc('month', order_date) AS month, COUNT(*) AS orders
    FROM orders
    GROUP BY 1
)
SELECT to_char(m.month, 'YYYY-MM') AS month, m.orders, p.orders AS previous_month_orders
FROM monthly m
LEFT JOIN monthly p ON p.month = m.month - INTERVAL '1 month'
WHERE m.month >= '1997-01-01' AND m.month < '1998-01-01'
""",
    ),
    _q(
        "northwind",
        "Who reports to Andrew Fuller, directly or through someone else, and how many levels down?",
        "recursive_cte cte cte_columns union join",
        """
WITH RECURSIVE reports(employee_id, manager_id, depth) AS (
    SELECT e.employee_id, e.reports_to, 1 FROM employees e WHERE e.reports_to = 2
    UNION ALL
    SELECT e.employee_id, e.reports_to, r.depth + 1
    FROM employees e
    JOIN reports r ON e.reports_to = r.employee_id
)
SELECT r.employee_id, e.first_name, e.last_name, r.depth, m.last_name AS manager
FROM reports r
JOIN employees e ON e.employee_id = r.employee_id
JOIN employees m ON m.employee_id = r.manager_id
ORDER BY r.depth, r.employee_id
""",
    ),
]

CORPUS: list[PositiveQuery] = SAKILA + CHINOOK + NORTHWIND
