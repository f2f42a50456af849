// Which chart a result gets, and which charts a person may switch to: pure functions of the
// columns and rows (the drawing is components/EChart.tsx, the option lib/chartOption.ts).
import type { Cell, ChartChoice, ChartKind } from "../api";

export type { ChartChoice, ChartKind };

export interface ChartPoint {
  /** The label as shown: a category, a number, or a date written for people. */
  x: string;
  y: number;
  /** On a time or number axis, where the point sits: ms since 1970 (local wall clock) or the number. */
  t?: number;
}

/** How the x column is laid out: dates on a time scale, numbers on a value scale, or named categories. */
export type AxisKind = "time" | "value" | "category";
/** The step dates advance by, which says how they are written. */
export type TimeUnit = "year" | "month" | "day" | "minute";

export interface ChartSpec {
  kind: ChartKind;
  label: string;
  value: string;
  axis: AxisKind;
  /** Dates only: how they are written. */
  unit?: TimeUnit;
  /** Bars laid sideways, so that many or long category names stay readable. */
  horizontal: boolean;
  points: ChartPoint[];
  /** Points left out of a bar or pie chart (the smallest values), beyond MAX_BARS / MAX_SLICES. */
  omitted: number;
}

export const KINDS: readonly ChartKind[] = ["bar", "line", "pie"];
export const KIND_NAMES: Record<ChartKind, string> = { bar: "Bar", line: "Line", pie: "Pie" };
/** The most bars drawn (largest first) and the most slices a pie is offered with. */
export const MAX_BARS = 60;
export const MAX_SLICES = 20;

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?([+-]\d{2}(?::?\d{2})?|Z)?$/;
/** Columns that hold identifiers or codes: shown as written, never plotted as a measure. */
export const ID_LIKE = /(^id$|_id$|^id_|code$|zip|postal|phone|year$)/i;

type ColumnType = "number" | "date" | "text" | "other";

/** The type of a column from its non-null values (`other`: nested values, booleans, or all null). */
export function columnType(rows: Cell[][], i: number): ColumnType {
  const values = rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) return "other";
  if (values.every((v) => typeof v === "number")) return "number";
  if (values.every((v) => typeof v === "string" && DATE.test(v))) return "date";
  if (values.every((v) => typeof v === "string" || typeof v === "number")) return "text";
  return "other";
}

/**
 * A date as the database wrote it, in ms on the browser's wall clock: `2005-05-01T00:00:00+00:00`
 * is 1 May 2005 at midnight wherever the browser is, so months never slip into the day before.
 */
export function wallClock(x: string): number {
  const m = DATE.exec(x);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m;
  return new Date(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)).getTime();
}

/** The coarsest step every date is on: all 1 January -> year, all first of a month -> month, ... */
export function timeUnit(times: number[]): TimeUnit {
  const dates = times.map((t) => new Date(t));
  const midnight = dates.every((d) => d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0);
  if (!midnight) return "minute";
  if (dates.every((d) => d.getDate() === 1 && d.getMonth() === 0)) return "year";
  if (dates.every((d) => d.getDate() === 1)) return "month";
  return "day";
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A date written for people at its step: `2005`, `2005-07`, `2005-07-14`, `2005-07-14 10:30`. */
export function formatTime(t: number, unit: TimeUnit): string {
  const d = new Date(t);
  const year = String(d.getFullYear());
  if (unit === "year") return year;
  const month = `${year}-${pad(d.getMonth() + 1)}`;
  if (unit === "month") return month;
  const day = `${month}-${pad(d.getDate())}`;
  return unit === "day" ? day : `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A date label as people read it: the day, or the month when every point starts a month. */
export function dateLabel(x: string, monthly: boolean): string {
  return formatTime(wallClock(x), monthly ? "month" : "day");
}

export interface ChartColumns {
  /** Columns that can be the axis or name the slices. */
  axes: string[];
  /** Numeric columns that are not identifiers: what can be plotted. */
  measures: string[];
}

/** The columns a person can chart with; a result is chartable when it has a measure and another axis column. */
export function chartColumns(columns: string[], rows: Cell[][]): ChartColumns {
  const types = columns.map((_, i) => columnType(rows, i));
  const axes = columns.filter((_, i) => types[i] !== "other");
  const measures = columns.filter((name, i) => types[i] === "number" && !ID_LIKE.test(name));
  return { axes, measures };
}

export function chartable(columns: string[], rows: Cell[][]): boolean {
  const { axes, measures } = chartColumns(columns, rows);
  return rows.length > 0 && measures.some((y) => axes.some((x) => x !== y));
}

/**
 * The automatic chart: only for a result with the shape of an aggregate, a category or a time
 * and one or two numbers (at most three columns), 2 to 200 rows, no nulls; null otherwise (a
 * listing of records is not charted). The value is the first numeric column that is not
 * id-like; a date column makes a line on a time scale, any other label column a bar chart.
 */
export function autoChoice(columns: string[], rows: Cell[][]): ChartChoice | null {
  if (rows.length < 2 || rows.length > 200 || columns.length < 2 || columns.length > 3) return null;
  const complete = (i: number) => rows.every((r) => r[i] !== null && r[i] !== undefined);
  const types = columns.map((_, i) => (complete(i) ? columnType(rows, i) : "other"));
  const value = columns.findIndex((name, i) => types[i] === "number" && !ID_LIKE.test(name));
  if (value === -1) return null;
  const date = types.findIndex((t, i) => i !== value && t === "date");
  if (date !== -1) return { kind: "line", x: columns[date], y: columns[value] };
  const label = types.findIndex((t, i) => i !== value && t === "text");
  if (label === -1) return null;
  return { kind: "bar", x: columns[label], y: columns[value] };
}

/** The chart offered by the "Chart" button of any chartable result: the automatic one, or the first label and measure. */
export function defaultChoice(columns: string[], rows: Cell[][]): ChartChoice | null {
  const auto = autoChoice(columns, rows);
  if (auto) return auto;
  const { axes, measures } = chartColumns(columns, rows);
  const types = new Map(columns.map((c, i) => [c, columnType(rows, i)]));
  for (const y of measures) {
    // A date first, then a name, then any other column.
    const rank = (c: string) => ({ date: 0, text: 1, number: 2, other: 3 })[types.get(c) ?? "other"];
    const x = axes.filter((c) => c !== y).sort((a, b) => rank(a) - rank(b))[0];
    if (x) return fitKind(columns, rows, { kind: types.get(x) === "date" ? "line" : "bar", x, y });
  }
  return null;
}

/** The kinds that make sense for this axis: bars always, a line along dates or numbers, a pie of a few non-negative parts. */
export function kindsFor(columns: string[], rows: Cell[][], x: string, y: string): ChartKind[] {
  const xi = columns.indexOf(x);
  const yi = columns.indexOf(y);
  if (xi === -1 || yi === -1) return [];
  const type = columnType(rows, xi);
  const values = rows.map((r) => r[yi]).filter((v): v is number => typeof v === "number");
  const kinds: ChartKind[] = ["bar"];
  if (type === "date" || type === "number") kinds.push("line");
  if (type !== "date" && values.length <= MAX_SLICES && values.every((v) => v >= 0) && values.some((v) => v > 0)) {
    kinds.push("pie");
  }
  return kinds;
}

/** ``choice`` with its kind replaced by bars when that kind does not fit its columns. */
export function fitKind(columns: string[], rows: Cell[][], choice: ChartChoice): ChartChoice {
  return kindsFor(columns, rows, choice.x, choice.y).includes(choice.kind) ? choice : { ...choice, kind: "bar" };
}

/**
 * The chart to draw for ``choice``, or null when it does not fit the result (a column is
 * missing, the value is not a measure, nothing to plot). Categories are sorted by value,
 * largest first; dates and numbers along the axis in their order.
 */
export function buildChart(columns: string[], rows: Cell[][], choice: ChartChoice): ChartSpec | null {
  const xi = columns.indexOf(choice.x);
  const yi = columns.indexOf(choice.y);
  if (xi === -1 || yi === -1 || xi === yi) return null;
  if (!chartColumns(columns, rows).measures.includes(choice.y)) return null;
  const kind = fitKind(columns, rows, choice).kind;
  const type = columnType(rows, xi);
  const plotted = rows.filter((r) => typeof r[yi] === "number" && r[xi] !== null && r[xi] !== undefined);
  if (plotted.length === 0) return null;
  const axis: AxisKind = type === "date" ? "time" : type === "number" && kind === "line" ? "value" : "category";
  let points: ChartPoint[] = plotted.map((r) => ({ x: String(r[xi]), y: r[yi] as number }));
  let unit: TimeUnit | undefined;
  if (type === "date") {
    const timed = plotted.map((r) => ({ raw: String(r[xi]), y: r[yi] as number, t: wallClock(String(r[xi])) }));
    unit = timeUnit(timed.map((p) => p.t));
    points = timed.sort((a, b) => a.t - b.t).map((p) => ({ x: formatTime(p.t, unit!), y: p.y, t: p.t }));
  } else if (type === "number" && kind !== "pie") {
    points = plotted
      .map((r) => ({ x: String(r[xi]), y: r[yi] as number, t: r[xi] as number }))
      .sort((a, b) => a.t - b.t);
  } else {
    points = [...points].sort((a, b) => b.y - a.y || a.x.localeCompare(b.x));
  }
  let omitted = 0;
  const cap = kind === "pie" ? MAX_SLICES : kind === "bar" ? MAX_BARS : Infinity;
  if (points.length > cap) {
    // Keep the largest values, in the order the axis shows them.
    const kept = new Set([...points].sort((a, b) => b.y - a.y).slice(0, cap));
    omitted = points.length - cap;
    points = points.filter((p) => kept.has(p));
  }
  const longest = Math.max(...points.map((p) => p.x.length));
  const horizontal = kind === "bar" && axis === "category" && (points.length > 8 || longest > 12);
  return { kind, label: choice.x, value: choice.y, axis, unit, horizontal, points, omitted };
}

/** The automatic chart of an aggregate-shaped result, drawn; null for any other result. */
export function chartFor(columns: string[], rows: Cell[][]): ChartSpec | null {
  const choice = autoChoice(columns, rows);
  return choice ? buildChart(columns, rows, choice) : null;
}

/** How the chart is named to assistive technology, e.g. "Bar chart of films by category". */
export function chartName(spec: ChartSpec): string {
  return `${KIND_NAMES[spec.kind]} chart of ${spec.value} by ${spec.label}`;
}
