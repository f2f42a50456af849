// The text of a query as the answer and the editor show it: formatted and wrapped, and the
// names the editor completes. Formatting never changes what runs: the backend's guard parses
// whatever is sent again, and a query the formatter cannot read is shown as it came.
import type { DbObject } from "../api";

export type QueryLanguage = "sql" | "mongo";

/**
 * A query laid out one clause per line. SQL goes through sql-formatter's PostgreSQL dialect
 * (loaded on first use, so the Chat screen's first paint does not carry it); a Mongo query is
 * JSON, indented by two. On any failure the query comes back unchanged.
 */
export async function formatQuery(query: string, language: QueryLanguage | string): Promise<string> {
  if (language === "mongo") return formatPipeline(query);
  try {
    const { formatDialect, postgresql } = await import("sql-formatter");
    const formatted = formatDialect(query, { dialect: postgresql, tabWidth: 2, keywordCase: "preserve" });
    return formatted.trim() || query;
  } catch {
    return query;
  }
}

/** A Mongo query (`{"collection", "pipeline"}`) as indented JSON; unchanged when it is not JSON. */
export function formatPipeline(query: string): string {
  try {
    return JSON.stringify(JSON.parse(query), null, 2);
  } catch {
    return query;
  }
}

/** lang-sql's completion schema: schema -> table -> column names (SQLNamespace's nested form). */
export type SqlNamespace = Record<string, Record<string, string[]>>;

/**
 * The tables, views and their columns of a connection's schema, for SQL completion: keyed by
 * schema name so `public.` completes its tables, with `defaultSchema` the one unqualified names
 * mean (`public` when the connection has it, else the first).
 */
export function sqlCompletionSchema(objects: DbObject[]): { namespace: SqlNamespace; defaultSchema?: string } {
  const namespace: SqlNamespace = {};
  for (const o of objects) {
    const tables = (namespace[o.schema_name] ??= {});
    tables[o.name] = o.columns.map((c) => c.name);
  }
  const schemas = Object.keys(namespace);
  const defaultSchema = schemas.includes("public") ? "public" : schemas[0];
  return { namespace, defaultSchema };
}

/** A word the Mongo editor offers: a collection (`db.name`), a field, or a `$field` path. */
export interface MongoWord {
  label: string;
  type: "class" | "property" | "variable";
  detail?: string;
}

/** Collections and their field paths (each also as a `$path` reference), de-duplicated, sorted. */
export function mongoCompletionWords(objects: DbObject[]): MongoWord[] {
  const words = new Map<string, MongoWord>();
  for (const o of objects) {
    const collection = `${o.schema_name}.${o.name}`;
    words.set(collection, { label: collection, type: "class", detail: "collection" });
    words.set(o.name, { label: o.name, type: "class", detail: "collection" });
    for (const c of o.columns) {
      if (!words.has(c.name)) words.set(c.name, { label: c.name, type: "property", detail: o.name });
      const ref = `$${c.name}`;
      if (!words.has(ref)) words.set(ref, { label: ref, type: "variable", detail: o.name });
    }
  }
  return [...words.values()].sort((a, b) => a.label.localeCompare(b.label));
}
