import type { Cell } from "../api";

export interface ChartPoint {
  x: string;
  y: number;
  /** Milliseconds since 1970 on a time axis: points are placed by time, not by position. */
  t?: number;
}

export interface ChartSpec {
  kind: "bar" | "line";
  label: string;
  value: string;
  points: ChartPoint[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:?\d{2}|Z)?)?$/;
/** Columns that hold identifiers or codes: shown as written, never plotted as a measure. */
export const ID_LIKE = /(^id$|_id$|^id_|code$|zip|postal|phone|year$)/i;

/**
 * A chart when the result has the shape of an aggregate: a category or a time and one or two
 * numbers (at most three columns), 2 to 200 rows; null otherwise (a listing of records is not
 * charted). The value is the first numeric column that is not id-like; a date axis makes a
 * line on a time scale, any other label column a bar chart.
 */
export function chartFor(columns: string[], rows: Cell[][]): ChartSpec | null {
  if (rows.length < 2 || rows.length > 200 || columns.length < 2 || columns.length > 3) return null;
  const isNumber = (i: number) => rows.every((r) => typeof r[i] === "number");
  const isDate = (i: number) => rows.every((r) => typeof r[i] === "string" && ISO_DATE.test(r[i] as string));
  const isLabel = (i: number) => rows.every((r) => typeof r[i] === "string" || typeof r[i] === "number");
  const value = columns.findIndex((name, i) => isNumber(i) && !ID_LIKE.test(name));
  if (value === -1) return null;
  const dateAxis = columns.findIndex((_, i) => i !== value && isDate(i));
  const axis = dateAxis !== -1 ? dateAxis : columns.findIndex((_, i) => i !== value && !isNumber(i) && isLabel(i));
  if (axis === -1) return null;
  if (dateAxis === -1) {
    return {
      kind: "bar",
      label: columns[axis],
      value: columns[value],
      points: rows.map((r) => ({ x: String(r[axis]), y: r[value] as number })),
    };
  }
  const points = rows
    .map((r) => {
      const x = String(r[axis]);
      return { x, y: r[value] as number, t: Date.parse(x.length === 10 ? `${x}T00:00:00Z` : x) };
    })
    .sort((a, b) => a.t - b.t);
  return { kind: "line", label: columns[axis], value: columns[value], points };
}

/** A date label as people read it: the day, or the month when every point starts a month. */
export function dateLabel(x: string, monthly: boolean): string {
  const day = x.slice(0, 10);
  return monthly ? day.slice(0, 7) : day;
}
