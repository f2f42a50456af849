import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { ApiError, type Schema } from "../api";
import { useAuth } from "../auth";
import MapCanvas from "../components/schema-map/MapCanvas";
import TablePicker from "../components/schema-map/TablePicker";
import TableDetails from "../components/schema-map/TableDetails";
import { Alert, Field, SelectField } from "../components/ui";
import {
  buildGraph,
  LARGE_SCHEMA,
  NEIGHBOURHOOD_LIMIT,
  parseHighlight,
  search,
  subgraph,
  visibleIds,
} from "../lib/schemaGraph";

/**
 * The schema map of one connection: tables as nodes, foreign keys as edges. Large schemas show
 * the neighbourhood of one table at a time. Loaded lazily (React Flow and elkjs stay out of the
 * main bundle). `?highlight=schema.table,...` marks tables (those an answer used); `?table=` selects one.
 */
export default function SchemaMapPage() {
  const { id = "" } = useParams();
  const { api } = useAuth();
  const [params, setParams] = useSearchParams();
  const [schema, setSchema] = useState<Schema | null>(null);
  const [name, setName] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const [hops, setHops] = useState(1);

  useEffect(() => {
    api
      .schema(id)
      .then(setSchema)
      .catch((err) => setError(err instanceof ApiError ? err.message : "Could not load the schema."));
    api
      .connections()
      .then((all) => setName(all.find((c) => c.id === id)?.name ?? null))
      .catch(() => undefined); // the name is decoration; the schema's error is the one that matters
  }, [api, id]);

  const graph = useMemo(() => (schema ? buildGraph(schema.kind, schema.objects) : null), [schema]);
  const large = !!graph && graph.nodes.size > LARGE_SCHEMA;
  const highlightParam = params.get("highlight");
  const highlightList = useMemo(() => (graph ? parseHighlight(graph, highlightParam) : []), [graph, highlightParam]);
  const highlighted = useMemo(() => new Set(highlightList), [highlightList]);
  const tableParam = params.get("table");
  const selected = graph && tableParam && graph.nodes.has(tableParam) ? tableParam : null;

  // Small schemas draw everything once; large ones only the neighbourhood, redrawn when the centre changes.
  const centre = large ? selected : null;
  const shown = useMemo(() => {
    if (!graph) return { nodes: [], edges: [] };
    return subgraph(graph, visibleIds(graph, centre, highlightList, hops));
  }, [graph, centre, highlightList, hops]);

  const results = useMemo(() => (graph ? search(graph, query, 8) : []), [graph, query]);
  const object = useMemo(
    () => (schema && selected ? schema.objects.find((o) => `${o.schema_name}.${o.name}` === selected) : undefined),
    [schema, selected],
  );

  function pick(table: string) {
    const next = new URLSearchParams(params);
    next.set("table", table);
    setParams(next, { replace: true });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (results.length > 0) pick(results[0].id);
  }

  if (error) return <Alert>{error}</Alert>;
  if (!schema || !graph) return <p className="text-sm text-slate-500">Loading the schema…</p>;

  const mongo = !graph.relations;
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <h1 className="text-2xl font-semibold">Schema map</h1>
        {name && <span className="text-slate-600">{name}</span>}
        <Link to="/connections" className="text-sm text-blue-700 underline">
          Back to connections
        </Link>
      </div>
      <p className="text-xs text-slate-600" data-testid="map-summary">
        {graph.nodes.size} {mongo ? "collections" : "tables and views"}
        {mongo ? "" : `, ${graph.edges.length} foreign keys`}.{" "}
        {large &&
          `Too many to draw at once: the map shows the tables within ${hops === 1 ? "one foreign key" : "two foreign keys"} of the one you pick${highlightList.length > 0 ? " and of the highlighted ones" : ""}.`}
        {large &&
          shown.nodes.length >= NEIGHBOURHOOD_LIMIT &&
          ` Only the first ${NEIGHBOURHOOD_LIMIT} are drawn: pick a table further out to see beyond them.`}
      </p>
      {mongo && (
        <Alert kind="info">
          MongoDB has no foreign keys: collections are drawn without relations. References the indexer guessed from
          field names are listed with each collection, not drawn as edges.
        </Alert>
      )}
      {highlightList.length > 0 && (
        <p className="text-xs text-slate-600" data-testid="map-highlight">
          <span
            aria-hidden="true"
            className="mr-1 inline-block h-3 w-3 rounded-sm border-2 border-amber-500 align-middle"
          />
          Highlighted, the tables the answer used: {highlightList.join(", ")}
        </p>
      )}
      <div className="flex flex-wrap items-end gap-2">
        <form onSubmit={submit} role="search" className="w-full sm:w-72">
          <Field
            label="Find a table"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder="Table name"
          />
        </form>
        {large && (
          <div className="w-40">
            <SelectField label="Neighbourhood" value={String(hops)} onChange={(e) => setHops(Number(e.target.value))}>
              <option value="1">1 hop</option>
              <option value="2">2 hops</option>
            </SelectField>
          </div>
        )}
      </div>
      {query.trim() && <TablePicker label="Matching tables" tables={results} selected={selected} onPick={pick} />}
      <div className="grid grid-cols-1 gap-3 md:grid-cols-[minmax(0,1fr)_18rem]">
        <div
          className="h-[65vh] min-h-80 w-full overflow-hidden rounded border border-slate-200 bg-white"
          aria-label="Schema map"
          role="region"
        >
          {shown.nodes.length > 0 ? (
            <MapCanvas
              nodes={shown.nodes}
              edges={shown.edges}
              selected={selected}
              highlighted={highlighted}
              onSelect={pick}
              centreOnSelect={!large}
            />
          ) : (
            <p className="p-4 text-sm text-slate-600">
              This schema has {graph.nodes.size} objects: find or pick one to see its neighbourhood.
            </p>
          )}
        </div>
        <aside className="flex min-w-0 flex-col gap-3 rounded border border-slate-200 bg-white p-3">
          {object ? (
            <TableDetails object={object} connectionId={id} relations={graph.relations} onPick={pick} />
          ) : (
            <p className="text-xs text-slate-600">Click a table to see its columns and foreign keys.</p>
          )}
          {large && !query.trim() && (
            <TablePicker
              label="Most connected tables"
              tables={[...graph.nodes.values()]
                .sort((a, b) => (graph.neighbours.get(b.id)?.size ?? 0) - (graph.neighbours.get(a.id)?.size ?? 0))
                .slice(0, 15)}
              selected={selected}
              onPick={pick}
            />
          )}
        </aside>
      </div>
    </div>
  );
}
