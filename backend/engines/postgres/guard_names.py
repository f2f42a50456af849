"""The SQL guard, layer 4: names resolved the way PostgreSQL resolves them, scope by scope.

``check_schema`` names every table and column the query uses that the index does not
know, resolving each name in its own scope (CTEs, derived tables, LATERAL subqueries,
``USING`` joins, an alias reused in two scopes, correlated subqueries). It raises
``QueryRefusedError`` for what could reach code of the user's database: a system catalog
hidden behind a user table's name, a function name the database overloads, a cast to a
type of the database that is not an enum, a cast the database defines with a function.

``qualify`` returns the SQL that runs: every table schema-qualified and enum types
qualified, because the runner pins ``search_path`` to ``pg_catalog`` so that nothing but
PostgreSQL's own functions and operators can be found by name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sqlglot import TokenType, exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from backend.engines.base import QueryRefusedError
from backend.engines.postgres.guard import CheckedQuery, check_statement, function_name, generate
from backend.engines.postgres.schema_index import TYPE_NAMES, SchemaIndex, identifier


def _scopes(checked: CheckedQuery) -> list[Scope]:
    try:
        return list(traverse_scope(checked.tree))
    except OptimizeError as exc:
        raise QueryRefusedError(f"The query's names cannot be resolved: {exc}") from exc


def _visible_ctes(table: exp.Table) -> set[str]:
    """CTE names a table reference sees: earlier CTEs of its WITH (all of them when
    RECURSIVE), and every CTE of the WITH clauses of the queries around it."""
    names: set[str] = set()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):
            ctes = list(node.expressions)
            index = next(i for i, cte in enumerate(ctes) if cte is child)
            visible = ctes if node.args.get("recursive") else ctes[:index]
            names |= {cte.alias for cte in visible}
        elif (
            isinstance(node, exp.Query)
            and isinstance(node.args.get("with_"), exp.With)
            and child is not node.args["with_"]
        ):
            names |= {cte.alias for cte in node.args["with_"].expressions}
        child, node = node, node.parent
    return names


def _table_key(table: exp.Table, index: SchemaIndex) -> tuple[str, str] | None:
    """The index key of a table reference, with its schema when it has one."""
    schema = table.args["db"].name if table.args.get("db") is not None else None
    return index.resolve(schema, table.name)


def _real_tables(tree: exp.Expr) -> Iterator[exp.Table]:
    """Table references that name a relation (not a CTE, not a table function)."""
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.args.get("db") is None and table.name in _visible_ctes(table):
            continue
        yield table


# Set-returning functions whose rows have named columns (OUT parameters); any other function
# in FROM gives one column named after its alias (or after itself).
FUNCTION_COLUMNS = {
    **dict.fromkeys(("jsonb_each", "jsonb_each_text", "json_each", "json_each_text"), frozenset({"key", "value"})),
    **dict.fromkeys(
        ("jsonb_array_elements", "jsonb_array_elements_text", "json_array_elements", "json_array_elements_text"),
        frozenset({"value"}),
    ),
}


# Set-returning functions of one column, named after the alias (unnest of one array only).
ONE_COLUMN_FUNCTIONS = frozenset(
    {
        "unnest", "generate_series", "generate_subscripts", "regexp_split_to_table", "regexp_matches",
        "json_object_keys", "jsonb_object_keys", "jsonb_path_query", "string_to_table",
    }
)  # fmt: skip


def _function_columns(node: exp.Expr, function: exp.Expr) -> set[str] | None:
    """The columns of a function in FROM: its OUT parameters, else (for a set-returning function
    of one column) its alias, plus ORDINALITY; None for anything else without a column list."""
    name = function_name(function) if isinstance(function, exp.Func) else ""
    alias = node.args.get("alias")
    alias_name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else name
    if name in FUNCTION_COLUMNS:
        columns = set(FUNCTION_COLUMNS[name])
    elif name in ONE_COLUMN_FUNCTIONS and (name != "unnest" or len(function.expressions) <= 1):
        columns = {alias_name}
    else:
        return None
    if node.args.get("ordinality") or (isinstance(function, exp.Unnest) and function.args.get("offset")):
        columns.add("ordinality")
    return columns


def _source_columns(node: exp.Expr, source: exp.Expr | Scope, index: SchemaIndex, depth: int = 0) -> set[str] | None:
    """The columns a FROM item offers; None when they cannot be known without a planner."""
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.args.get("columns"):
        names = {c.name for c in alias.args["columns"]}
        return names | {"ordinality"} if node.args.get("ordinality") else names
    if isinstance(source, exp.Table):
        if not isinstance(source.this, exp.Identifier):
            return _function_columns(source, source.this)
        key = _table_key(source, index)
        return index.columns.get(key) if key else None
    if not isinstance(source, Scope):
        return None
    expression = source.expression
    if isinstance(expression, exp.Unnest):
        return _function_columns(expression, expression)
    if isinstance(expression, exp.Lateral):
        inner = expression.this
        if isinstance(inner, exp.Subquery):
            return _select_names(inner.unnest())
        return _function_columns(expression, inner) if isinstance(inner, exp.Func) else None
    # A recursive CTE's self-reference points at its anchor SELECT, inside the UNION.
    holder = expression.parent
    while isinstance(holder, exp.SetOperation):
        holder = holder.parent
    cte_alias = holder.args.get("alias") if holder is not None else None
    if isinstance(cte_alias, exp.TableAlias) and cte_alias.args.get("columns"):
        return {c.name for c in cte_alias.args["columns"]}
    output = _select_names(expression)
    if output is None and depth < 8:
        output = _star_columns(source, index, depth + 1)
    return output


def _first_select(expression: exp.Expr) -> exp.Select | None:
    """The SELECT that names a query's output columns (the first one of a set operation)."""
    while isinstance(expression, exp.SetOperation):
        expression = expression.this
    return expression if isinstance(expression, exp.Select) else None


def _star_columns(scope: Scope, index: SchemaIndex, depth: int) -> set[str] | None:
    """The output names of a SELECT with ``*`` or ``t.*``, expanded from its own FROM items."""
    first = _first_select(scope.expression)
    if first is None:
        return None
    names: set[str] = set()
    for item in first.expressions:
        qualifier = item.table if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) else None
        if isinstance(item, exp.Star) or qualifier:
            sources = [scope.selected_sources[qualifier]] if qualifier else list(scope.selected_sources.values())
            if qualifier and qualifier not in scope.selected_sources:
                return None
            for node, source in sources:
                columns = _source_columns(node, source, index, depth)
                if columns is None:
                    return None
                names |= columns
        elif (name := _output_name(item)) is not None:
            names.add(name)
    return names


def _output_name(item: exp.Expr) -> str | None:
    """The name PostgreSQL surely gives a select-list item: its alias, or the column it names.

    Anything else is named by rules sqlglot does not follow (``'x'`` is ``?column?`` to
    PostgreSQL, ``'x'::text`` is ``text``), so it has no name here: ``alias.name`` must not
    pass on a guess, since PostgreSQL reads it as the call ``name(alias)`` when no column matches.
    """
    if isinstance(item, exp.Alias):
        return item.alias
    if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
        return item.name
    return None


def _select_names(expression: exp.Expr) -> set[str] | None:
    """The output names of a query (its first SELECT's, for a set operation); None with a star."""
    first = _first_select(expression)
    if first is None:
        return None
    if any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in first.expressions
    ):
        return None
    return {name for name in map(_output_name, first.expressions) if name}


def _lookup(scope: Scope | None, qualifier: str) -> tuple[exp.Expr, exp.Expr | Scope] | None:
    while scope is not None:
        if qualifier in scope.selected_sources:
            found: tuple[exp.Expr, exp.Expr | Scope] = scope.selected_sources[qualifier]
            return found
        scope = scope.parent
    return None


def _output_alias(scope: Scope, column: exp.Column) -> bool:
    """ORDER BY and GROUP BY may name an output column by its alias (``ORDER BY total``);
    the ORDER BY of a UNION/INTERSECT/EXCEPT names the output columns of its first SELECT."""
    expression = scope.expression
    if column.find_ancestor(exp.Order, exp.Group) is None:
        return False
    if isinstance(expression, exp.SetOperation):
        names = _select_names(expression)
        return names is None or column.name in names
    if not isinstance(expression, exp.Select):
        return False
    return column.name in {e.alias for e in expression.expressions if isinstance(e, exp.Alias)}


def _own_scope(column: exp.Column, scopes: dict[int, Scope]) -> Scope | None:
    """The innermost scope whose query contains ``column`` (sqlglot also lists a subquery's
    unqualified columns in the scopes around it)."""
    node: exp.Expr | None = column
    while node is not None:
        if id(node) in scopes:
            return scopes[id(node)]
        node = node.parent
    return None


def _table_names(scope: Scope, index: SchemaIndex) -> str:
    names: list[str] = []
    for _, source in scope.selected_sources.values():
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            key = _table_key(source, index)
            names.append(f"{key[0]}.{key[1]}" if key else source.name)
    return ", ".join(names) or "the query's tables"


def _column_problem(column: exp.Column, scope: Scope, index: SchemaIndex) -> str | None:
    name = column.name
    qualifier = column.table
    if column.args.get("db") is not None:
        # schema.table.column, or table.column.name, which PostgreSQL may read as name(table.column)
        key = index.resolve(column.args["db"].name, qualifier)
        if key is None:
            return f'"{column.args["db"].name}.{qualifier}" is not a table of this database'
        if name not in index.columns[key]:
            return f'Column "{name}" does not exist in table {key[0]}.{key[1]}'
        return None
    if qualifier:
        found = _lookup(scope, qualifier)
        if found is None:
            return f'"{qualifier}" is not a table or alias in the FROM clause'
        columns = _source_columns(*found, index)
        if columns is None:
            # PostgreSQL reads alias.name as name(alias) when alias has no such column.
            return f'Column "{name}" of {qualifier} cannot be checked: name its columns with AS {qualifier}(...)'
        if name in columns:
            return None
        source = found[1]
        if isinstance(source, exp.Table):
            key = _table_key(source, index)
            if key is not None:
                return f'Column "{name}" does not exist in table {key[0]}.{key[1]}'
        return f'Column "{name}" does not exist in {qualifier}'
    if _output_alias(scope, column) or _unqualified_known(scope, name, index):
        return None
    return f'Column "{name}" does not exist in {_table_names(scope, index)}'


def _unqualified_known(scope: Scope | None, name: str, index: SchemaIndex) -> bool:
    """Whether some FROM item of this scope or an enclosing one has ``name``."""
    while scope is not None:
        for node, source in scope.selected_sources.values():
            columns = _source_columns(node, source, index)
            if columns is None or name in columns:
                return True
        scope = scope.parent
    return False


def _check_called_names(sql_text: str, index: SchemaIndex) -> None:
    """Every word the generated SQL calls, read from its tokens: sqlglot writes some typed
    functions under another name (``StrPosition`` as ``POSITION``), and the written name is the
    one PostgreSQL resolves. Qualifying tables later changes no called name."""
    tokens = Postgres().tokenize(sql_text)
    for token, following in itertools.pairwise(tokens):
        if following.token_type == TokenType.L_PAREN and token.token_type != TokenType.STRING:
            name = token.text.lower()
            if name in index.functions:
                raise QueryRefusedError(
                    f"{name}() is also defined by this database, so PostgreSQL might run that definition; "
                    "write the query without it"
                )


def _check_routines(checked: CheckedQuery, index: SchemaIndex) -> None:
    """Refuse what could run code the user's database defines."""
    _check_called_names(checked.sql, index)
    targets = {c.target for c in index.casts}
    for data_type in checked.tree.find_all(exp.DataType):
        if data_type.this == exp.DType.USERDEFINED:
            _check_user_type(data_type, index)
            continue
        text = data_type.sql(dialect="postgres").split("(")[0].strip().lower()
        if text in index.catalog_types:
            raise QueryRefusedError(f"Casts to {text} are not allowed: this database defines a type of that name")
        if TYPE_NAMES.get(text, text) in targets:
            raise QueryRefusedError(f"This database defines its own cast to {text}, so the query must not cast to it")


def _check_user_type(data_type: exp.DataType, index: SchemaIndex) -> None:
    kind = data_type.args.get("kind")
    parts = [p.name for p in kind.flatten()] if isinstance(kind, exp.Dot) else [kind.name if kind else ""]
    name = parts[-1]
    schema = parts[0] if len(parts) == 2 else None
    matches = [k for k in index.types if k.split(".", 1)[1] == name and (schema is None or k.split(".")[0] == schema)]
    if schema is None and len(matches) > 1:
        matches = [k for k in matches if k.startswith("public.")] or matches
    if len(matches) != 1 or index.types[matches[0]] != "enum":
        what = f"a {index.types[matches[0]]} type of this database" if len(matches) == 1 else "not a built-in type"
        raise QueryRefusedError(f"Casts to {'.'.join(parts)} are not allowed: it is {what}")
    type_schema, type_name = matches[0].split(".", 1)
    data_type.set("kind", exp.Dot(this=identifier(type_schema), expression=identifier(type_name)))


def check_schema(checked: CheckedQuery, index: SchemaIndex) -> list[str]:
    """Layer 4: the problems (unknown tables or columns) of a query; empty when it fits the index.

    Raises ``QueryRefusedError`` for a system catalog, or for anything that could reach a
    function, cast or type the user's database defines.
    """
    if index.hazards:
        raise QueryRefusedError(
            f"This database defines {'; '.join(index.hazards)}. PostgreSQL would run them inside ordinary "
            "queries, so Sextant runs no queries on it"
        )
    problems: list[str] = []
    for table in _real_tables(checked.tree):
        schema = table.args["db"].name if table.args.get("db") is not None else None
        if schema is None and index.is_catalog(table.name):
            raise QueryRefusedError(
                f"{table.name} is a PostgreSQL system catalog; only the database's own tables can be read"
            )
        key = _table_key(table, index)
        if key is None:
            problems.append(f'Table "{schema + "." if schema else ""}{table.name}" does not exist in this database')
        elif (reason := index.unsafe.get(f"{key[0]}.{key[1]}")) is not None:
            raise QueryRefusedError(f"{key[0]}.{key[1]} {reason}, so Sextant does not read it")
    _check_routines(checked, index)
    if problems:
        return sorted(set(problems))
    scopes = {id(scope.expression): scope for scope in _scopes(checked)}
    for column in checked.tree.find_all(exp.Column):
        scope = _own_scope(column, scopes)
        if scope is None or isinstance(column.this, exp.Star):
            continue
        problem = _column_problem(column, scope, index)
        if problem:
            problems.append(problem)
    return sorted(set(problems))


def qualify(checked: CheckedQuery, index: SchemaIndex) -> str:
    """The SQL to run: ``checked`` with every table schema-qualified (after ``check_schema``)."""
    tree = checked.tree.copy()
    for table in _real_tables(tree):
        key = _table_key(table, index)
        if key is None:
            raise QueryRefusedError(f'Table "{table.name}" does not exist in this database')
        table.set("db", identifier(key[0]))
        table.set("this", identifier(key[1]))
    return generate(tree)


def guard_sql(query: str, index: SchemaIndex) -> tuple[str, list[str]]:
    """Layers 1 and 4 together: ``(SQL to run, problems)``; the SQL is qualified only when
    there are no problems. Raises ``QueryRefusedError`` for what is never allowed."""
    checked = check_statement(query)
    problems = check_schema(checked, index)
    if problems:
        return checked.sql, problems
    return qualify(checked, index), []


def used_relations(query: str, index: SchemaIndex) -> list[str]:
    """``schema.name`` of every table or view ``query`` reads, in order of first mention (CTE
    names and table functions are not relations). ``query`` is one the guard accepted; names
    the index does not know are left out."""
    used: list[str] = []
    tables = sorted(_real_tables(check_statement(query).tree), key=lambda t: t.this.meta.get("start", 0))
    for table in tables:
        key = _table_key(table, index)
        if key is not None and f"{key[0]}.{key[1]}" not in used:
            used.append(f"{key[0]}.{key[1]}")
    return used
