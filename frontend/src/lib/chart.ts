import type { Cell } from "../api";

export interface ChartSpec {
  kind: "bar" | "line";
  label: string;
  value: string;
  points: { x: string; y: number }[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:?\d{2}|Z)?)?$/;

/**
 * A chart when the result is one category and one number (bar) or a time and a number
 * (line); null otherwise. The first text or date column is the axis, the first numeric
 * column the value.
 */
export function chartFor(columns: string[], rows: Cell[][]): ChartSpec | null {
  if (rows.length < 2 || rows.length > 200 || columns.length < 2) return null;
  const isNumber = (i: number) => rows.every((r) => typeof r[i] === "number");
  const isDate = (i: number) => rows.every((r) => typeof r[i] === "string" && ISO_DATE.test(r[i] as string));
  const isLabel = (i: number) => rows.every((r) => typeof r[i] === "string" || typeof r[i] === "number");
  const value = columns.findIndex((_, i) => isNumber(i));
  if (value === -1) return null;
  const dateAxis = columns.findIndex((_, i) => i !== value && isDate(i));
  const axis = dateAxis !== -1 ? dateAxis : columns.findIndex((_, i) => i !== value && !isNumber(i) && isLabel(i));
  if (axis === -1) return null;
  const points = rows.map((r) => ({ x: String(r[axis]), y: r[value] as number }));
  if (dateAxis !== -1) points.sort((a, b) => a.x.localeCompare(b.x));
  return { kind: dateAxis !== -1 ? "line" : "bar", label: columns[axis], value: columns[value], points };
}
