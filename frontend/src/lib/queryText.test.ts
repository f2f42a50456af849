import { describe, expect, it } from "vitest";
import type { DbObject } from "../api";
import { fromRun, turnHeading } from "../components/AnswerTurn";
import type { QueryResult } from "../api";
import { formatPipeline, formatQuery, mongoCompletionWords, sqlCompletionSchema } from "./queryText";

function object(schema_name: string, name: string, columns: string[]): DbObject {
  return {
    schema_name,
    name,
    kind: "table",
    columns: columns.map((c) => ({ name: c, data_type: "text", nullable: true })),
  } as unknown as DbObject;
}

describe("formatQuery", () => {
  it("lays SQL out one clause per line and keeps every token", async () => {
    const sql =
      "SELECT c.name, count(*) AS films FROM public.film_category AS fc JOIN public.category AS c ON c.category_id = fc.category_id WHERE c.name <> 'Sports' AND (fc.film_id > 10 OR fc.film_id < 3) GROUP BY c.name HAVING count(*) > 50 ORDER BY films DESC LIMIT 5";
    const formatted = await formatQuery(sql, "sql");
    const lines = formatted.split("\n");
    expect(lines[0]).toBe("SELECT");
    expect(lines).toContain("FROM");
    expect(formatted).toContain("JOIN public.category AS c ON c.category_id = fc.category_id");
    expect(formatted).toMatch(/\nGROUP BY\n/);
    // Whitespace is all that changed.
    expect(formatted.replace(/\s+/g, "")).toBe(sql.replace(/\s+/g, ""));
  });

  it("keeps PostgreSQL's own syntax: casts, JSON operators, dollar quotes", async () => {
    const sql = "SELECT payload->>'name' AS name, amount::numeric(10,2), $$it's$$ FROM t WHERE tags @> ARRAY['a']";
    const formatted = await formatQuery(sql, "sql");
    expect(formatted).toContain("payload ->> 'name'");
    expect(formatted).toContain("amount::numeric(10, 2)");
    expect(formatted).toContain("$$it's$$");
    expect(formatted).toContain("@> ARRAY['a']");
  });

  it("gives back what it cannot read unchanged", async () => {
    const broken = "SELECT 'unterminated";
    expect(await formatQuery(broken, "sql")).toBe(broken);
  });

  it("indents a Mongo query as JSON, and leaves broken JSON alone", async () => {
    const query = '{"collection":"shop.orders","pipeline":[{"$match":{"status":"paid"}}]}';
    const formatted = await formatQuery(query, "mongo");
    expect(formatted.split("\n")).toHaveLength(10);
    expect(JSON.parse(formatted)).toEqual(JSON.parse(query));
    expect(formatPipeline('{"collection": ')).toBe('{"collection": ');
  });
});

describe("completion schema", () => {
  const objects = [
    object("public", "film", ["film_id", "title"]),
    object("public", "category", ["category_id", "name"]),
    object("sales", "orders", ["id", "total"]),
  ];

  it("groups tables and their columns by schema, public unqualified", () => {
    const { namespace, defaultSchema } = sqlCompletionSchema(objects);
    expect(namespace).toEqual({
      public: { film: ["film_id", "title"], category: ["category_id", "name"] },
      sales: { orders: ["id", "total"] },
    });
    expect(defaultSchema).toBe("public");
    expect(sqlCompletionSchema([object("sales", "orders", [])]).defaultSchema).toBe("sales");
    expect(sqlCompletionSchema([])).toEqual({ namespace: {}, defaultSchema: undefined });
  });

  it("offers Mongo collections, fields and $field references once each", () => {
    const words = mongoCompletionWords([
      object("shop", "orders", ["status", "items.sku"]),
      object("shop", "customers", ["name", "status"]),
    ]);
    const labels = words.map((w) => w.label);
    expect(labels).toEqual([...labels].sort((a, b) => a.localeCompare(b)));
    expect(labels).toEqual(
      expect.arrayContaining(["shop.orders", "orders", "items.sku", "$items.sku", "status", "$status", "$name"]),
    );
    expect(labels.filter((l) => l === "status")).toHaveLength(1);
    expect(words.find((w) => w.label === "shop.customers")?.type).toBe("class");
  });
});

describe("a person's query as a turn", () => {
  const result = {
    answer: "2 rows.",
    query: "SELECT 1",
    language: "sql",
    columns: ["a"],
    rows: [[1], [2]],
    row_count: 2,
    truncated: false,
    truncation: null,
    sources: [],
    timings: { retrieve: 0, generate: 0, validate: 1.5, execute: 3, answer: 0 },
    model: "",
    history_id: "h2",
    conversation_id: "v1",
    executed: true,
    error: null,
    error_code: null,
    origin: "edited",
    verified_example: null,
    cached_at: null,
    examples_used: [],
    notes_used: [],
  } as QueryResult;

  it("keeps only the steps that ran and says it was edited", () => {
    const turn = fromRun(result, "films per category", "c1");
    expect(turn.timings).toEqual({ validate: 1.5, execute: 3 });
    expect(turn.done).toBe(true);
    expect(turn.historyId).toBe("h2");
    expect(turn.connectionId).toBe("c1");
    expect(turnHeading(turn)).toBe("Edited query (from: films per category)");
    expect(turnHeading({ origin: "typed", question: "SELECT 1" })).toBe("Typed query");
    expect(turnHeading({ origin: "asked", question: "How many?" })).toBe("How many?");
  });
});
