/**
 * The schema map's graph, kept free of React and of the layout library so that it can be tested
 * alone: nodes (tables, views, collections), edges (foreign keys), the neighbourhood of a table,
 * search, and the `?highlight=` list.
 */
import type { Schema } from "../api";

export type SchemaObject = Schema["objects"][number];

/** Above this many objects the map does not draw everything, only the neighbourhood of a table. */
export const LARGE_SCHEMA = 60;

/** A key column on a node: part of the primary key, of a foreign key, or both. */
export interface KeyColumn {
  name: string;
  primary: boolean;
  /** The referenced object (schema.table) when the column is part of a foreign key. */
  references: string | null;
}

export interface GraphNode {
  id: string;
  schema: string;
  name: string;
  kind: string;
  keys: KeyColumn[];
  columnCount: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** The referencing columns, e.g. `language_id`. */
  label: string;
}

export interface SchemaGraph {
  nodes: Map<string, GraphNode>;
  edges: GraphEdge[];
  /** Undirected neighbours of each node, by id. */
  neighbours: Map<string, Set<string>>;
  /** Whether edges are real foreign keys (false for MongoDB: collections have none). */
  relations: boolean;
}

export function objectId(o: Pick<SchemaObject, "schema_name" | "name">): string {
  return `${o.schema_name}.${o.name}`;
}

function keyColumns(o: SchemaObject): KeyColumn[] {
  const keys: KeyColumn[] = [];
  for (const c of o.columns) {
    const fk = o.foreign_keys.find((f) => f.columns.includes(c.name));
    const primary = o.primary_key.includes(c.name);
    if (primary || fk) keys.push({ name: c.name, primary, references: fk ? fk.target : null });
  }
  return keys;
}

/**
 * Nodes for every object and an edge for every foreign key whose target is in the schema.
 * For MongoDB (`kind` "mongodb") there are no edges: the references the indexer infers from
 * field names are guesses, not constraints, and the map does not draw them as relations.
 */
export function buildGraph(kind: string, objects: SchemaObject[]): SchemaGraph {
  const relations = kind !== "mongodb";
  const nodes = new Map<string, GraphNode>();
  for (const o of objects) {
    const id = objectId(o);
    nodes.set(id, {
      id,
      schema: o.schema_name,
      name: o.name,
      kind: o.kind,
      keys: relations ? keyColumns(o) : o.primary_key.map((name) => ({ name, primary: true, references: null })),
      columnCount: o.columns.length,
    });
  }
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const neighbours = new Map<string, Set<string>>([...nodes.keys()].map((id) => [id, new Set<string>()]));
  if (relations) {
    for (const o of objects) {
      const source = objectId(o);
      for (const fk of o.foreign_keys) {
        const edgeId = `${source}:${fk.name}:${fk.columns.join(",")}`;
        if (!nodes.has(fk.target) || seen.has(edgeId)) continue;
        seen.add(edgeId);
        edges.push({ id: edgeId, source, target: fk.target, label: fk.columns.join(", ") });
        neighbours.get(source)?.add(fk.target);
        neighbours.get(fk.target)?.add(source);
      }
    }
  }
  return { nodes, edges, neighbours, relations };
}

/** The most tables a neighbourhood draws: a hub's two hops can reach hundreds. */
export const NEIGHBOURHOOD_LIMIT = 150;

/** The ids within `hops` foreign keys of any of `centres` (the centres included), at most `limit`. */
export function neighbourhood(
  graph: SchemaGraph,
  centres: string[],
  hops: number,
  limit = NEIGHBOURHOOD_LIMIT,
): Set<string> {
  const found = new Set(centres.filter((c) => graph.nodes.has(c)));
  let frontier = [...found];
  for (let hop = 0; hop < hops && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const n of [...(graph.neighbours.get(id) ?? [])].sort()) {
        if (found.size >= limit) return found;
        if (!found.has(n)) {
          found.add(n);
          next.push(n);
        }
      }
    }
    frontier = next;
  }
  return found;
}

/** The nodes of `ids` and the edges between them, in the graph's order. */
export function subgraph(graph: SchemaGraph, ids: Set<string>): { nodes: GraphNode[]; edges: GraphEdge[] } {
  return {
    nodes: [...graph.nodes.values()].filter((n) => ids.has(n.id)),
    edges: graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
  };
}

/**
 * Objects whose name matches `query`, best first: the exact table name, then names starting with
 * it, then names containing it (the schema-qualified name counts too); at most `limit`.
 */
export function search(graph: SchemaGraph, query: string, limit = 50): GraphNode[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const rank = (n: GraphNode): number => {
    const name = n.name.toLowerCase();
    const id = n.id.toLowerCase();
    if (name === q || id === q) return 0;
    if (name.startsWith(q) || id.startsWith(q)) return 1;
    if (id.includes(q)) return 2;
    return -1;
  };
  return [...graph.nodes.values()]
    .map((n) => [rank(n), n] as const)
    .filter(([r]) => r >= 0)
    .sort((a, b) => a[0] - b[0] || a[1].id.localeCompare(b[1].id))
    .slice(0, limit)
    .map(([, n]) => n);
}

/**
 * The ids named by a `?highlight=` value: comma-separated `schema.table` names; a bare table name
 * matches when exactly one object has it. Names not in the schema are dropped.
 */
export function parseHighlight(graph: SchemaGraph, value: string | null): string[] {
  if (!value) return [];
  const ids: string[] = [];
  for (const raw of value.split(",")) {
    const name = raw.trim();
    if (!name) continue;
    let id: string | undefined = graph.nodes.has(name) ? name : undefined;
    if (!id) {
      const matches = [...graph.nodes.values()].filter((n) => n.name === name);
      if (matches.length === 1) id = matches[0].id;
    }
    if (id && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * What the map shows: every object when the schema is small; otherwise the neighbourhood (`hops`)
 * of the selected object and the highlighted ones, or nothing until one is picked.
 */
export function visibleIds(
  graph: SchemaGraph,
  selected: string | null,
  highlighted: string[],
  hops: number,
): Set<string> {
  if (graph.nodes.size <= LARGE_SCHEMA) return new Set(graph.nodes.keys());
  const centres = [...highlighted, ...(selected ? [selected] : [])];
  return neighbourhood(graph, centres, hops);
}
