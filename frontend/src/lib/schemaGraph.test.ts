import { describe, expect, it } from "vitest";
import {
  buildGraph,
  LARGE_SCHEMA,
  neighbourhood,
  parseHighlight,
  search,
  subgraph,
  visibleIds,
  type SchemaObject,
} from "./schemaGraph";

type Fk = SchemaObject["foreign_keys"][number];

function table(name: string, refs: string[] = [], schema = "public"): SchemaObject {
  const foreign_keys: Fk[] = refs.map((target) => ({
    name: `${name}_${target.split(".")[1]}_fk`,
    source: `${schema}.${name}`,
    columns: [`${target.split(".")[1]}_id`],
    target,
    ref_columns: [`${target.split(".")[1]}_id`],
  }));
  return {
    schema_name: schema,
    name,
    kind: "table",
    comment: null,
    row_estimate: null,
    columns: [
      { name: `${name}_id`, type: "integer", nullable: false, default: null, generated: null, comment: null, values: null, pii: null, note: null },
      { name: "title", type: "text", nullable: true, default: null, generated: null, comment: null, values: null, pii: null, note: null },
      ...foreign_keys.map((f) => ({ name: f.columns[0], type: "integer", nullable: false, default: null, generated: null, comment: null, values: null, pii: null, note: null })),
    ],
    primary_key: [`${name}_id`],
    foreign_keys,
    referenced_by: [],
    samples: [],
    partitions: [],
    indexes: [],
    notes: [],
    note: null,
    omitted_columns: 0,
  }; // prettier-ignore
}

// film -> language, film_category -> film and category, rental -> inventory -> film, actor alone.
const SAKILA_LIKE = [
  table("language"),
  table("film", ["public.language"]),
  table("category"),
  table("film_category", ["public.film", "public.category"]),
  table("inventory", ["public.film"]),
  table("rental", ["public.inventory", "public.staff_missing"]),
  table("rental_summary"),
  table("actor"),
];

describe("buildGraph", () => {
  it("makes a node per object with its key columns and an edge per foreign key", () => {
    const graph = buildGraph("postgres", SAKILA_LIKE);
    expect(graph.nodes.size).toBe(8);
    expect(graph.nodes.get("public.film")?.keys).toEqual([
      { name: "film_id", primary: true, references: null },
      { name: "language_id", primary: false, references: "public.language" },
    ]);
    expect(graph.edges.map((e) => `${e.source}->${e.target}`)).toEqual([
      "public.film->public.language",
      "public.film_category->public.film",
      "public.film_category->public.category",
      "public.inventory->public.film",
      "public.rental->public.inventory",
    ]); // the key to a table not in the schema draws no edge
    expect([...(graph.neighbours.get("public.film") ?? [])].sort()).toEqual([
      "public.film_category",
      "public.inventory",
      "public.language",
    ]);
  });

  it("draws no relations for MongoDB: guessed references are not foreign keys", () => {
    const graph = buildGraph("mongodb", [table("orders", ["shop.users"], "shop"), table("users", [], "shop")]);
    expect(graph.relations).toBe(false);
    expect(graph.edges).toEqual([]);
    expect(graph.nodes.get("shop.orders")?.keys.map((k) => k.name)).toEqual(["orders_id"]);
  });
});

describe("neighbourhood", () => {
  const graph = buildGraph("postgres", SAKILA_LIKE);
  it("takes one hop, then two, in both directions", () => {
    expect([...neighbourhood(graph, ["public.language"], 1)].sort()).toEqual(["public.film", "public.language"]);
    expect([...neighbourhood(graph, ["public.language"], 2)].sort()).toEqual([
      "public.film",
      "public.film_category",
      "public.inventory",
      "public.language",
    ]);
  });
  it("ignores unknown centres and stops at the limit", () => {
    expect(neighbourhood(graph, ["public.nope"], 2).size).toBe(0);
    expect(neighbourhood(graph, ["public.film"], 2, 3).size).toBe(3);
  });
  it("gives the edges among the chosen nodes only", () => {
    const sub = subgraph(graph, neighbourhood(graph, ["public.language"], 1));
    expect(sub.nodes.map((n) => n.id)).toEqual(["public.language", "public.film"]);
    expect(sub.edges.map((e) => e.id)).toHaveLength(1);
  });
});

describe("search", () => {
  const graph = buildGraph("postgres", SAKILA_LIKE);
  it("ranks the exact name first, then prefixes, then substrings", () => {
    expect(search(graph, "rental").map((n) => n.id)).toEqual(["public.rental", "public.rental_summary"]);
    expect(search(graph, "FILM").map((n) => n.id)).toEqual(["public.film", "public.film_category"]);
    expect(search(graph, "category").map((n) => n.id)).toEqual(["public.category", "public.film_category"]);
    expect(search(graph, "  ")).toEqual([]);
    expect(search(graph, "zzz")).toEqual([]);
  });
});

describe("parseHighlight", () => {
  const graph = buildGraph("postgres", [...SAKILA_LIKE, table("film", [], "archive")]);
  it("keeps known qualified names, resolves unique bare names and drops the rest", () => {
    expect(parseHighlight(graph, "public.film, public.category,public.film")).toEqual([
      "public.film",
      "public.category",
    ]);
    expect(parseHighlight(graph, "actor,film,public.missing,,")).toEqual(["public.actor"]); // film is ambiguous
    expect(parseHighlight(graph, null)).toEqual([]);
  });
});

describe("visibleIds", () => {
  it("shows everything in a small schema", () => {
    const graph = buildGraph("postgres", SAKILA_LIKE);
    expect(visibleIds(graph, null, [], 1).size).toBe(SAKILA_LIKE.length);
  });
  it("shows only the neighbourhood of the selection and the highlights in a large one", () => {
    // A chain t0 <- t1 <- t2 ... of 800 tables.
    const chain = Array.from({ length: 800 }, (_, i) => table(`t${i}`, i > 0 ? [`public.t${i - 1}`] : []));
    const graph = buildGraph("postgres", chain);
    expect(graph.nodes.size).toBeGreaterThan(LARGE_SCHEMA);
    expect(visibleIds(graph, null, [], 1).size).toBe(0);
    expect([...visibleIds(graph, "public.t10", [], 1)].sort()).toEqual(["public.t10", "public.t11", "public.t9"]);
    expect(visibleIds(graph, "public.t10", [], 2).size).toBe(5);
    expect([...visibleIds(graph, null, ["public.t0", "public.t500"], 1)].sort()).toEqual([
      "public.t0",
      "public.t1",
      "public.t499",
      "public.t500",
      "public.t501",
    ]);
  });
});
