// What the Evaluate screen shows of runs and their questions, as pure functions (unit-tested):
// the runs table's cells, each outcome's words, and a question's row diff.
import type { Cell, EvaluationDiff, EvaluationResult, EvaluationRun, Outcome, RunStatus } from "../api";

/** Each outcome in words; a Record over the generated union, so a new outcome fails to compile. */
export const OUTCOME_LABEL: Record<Outcome, string> = {
  match: "Match",
  mismatch: "Wrong rows",
  refused: "Refused",
  no_query: "No query",
  error: "Error",
  expected_failed: "Expected query failed",
};

/** Each outcome's badge colour (the badge classes the dark theme turns over). */
export const OUTCOME_STYLE: Record<Outcome, string> = {
  match: "bg-green-100 text-green-800",
  mismatch: "bg-red-100 text-red-800",
  refused: "bg-amber-100 text-amber-900",
  no_query: "bg-amber-100 text-amber-900",
  error: "bg-red-100 text-red-800",
  expected_failed: "bg-slate-100 text-slate-700",
};

export const STATUS_LABEL: Record<RunStatus, string> = {
  pending: "Waiting",
  running: "Running",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** A share 0..1 as a whole percentage; "—" when there is none yet. */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) return "—";
  return `${Math.round(share * 1000) / 10}%`;
}

/** Milliseconds as a person reads them: "340 ms", "1.2 s", "2 min 5 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export interface RunRow {
  id: string;
  model: string;
  source: string;
  status: string;
  active: boolean;
  done: number;
  total: number;
  progress: string;
  accuracy: string;
  /** "18 of 30": what the accuracy counts (expected_failed questions are left out). */
  counted: string;
  recall: string;
  median: string;
  date: string;
}

/** The runs table's cells, newest run first as the API sends them. */
export function runRows(runs: EvaluationRun[], locale?: string): RunRow[] {
  return runs.map((run) => ({
    id: run.id,
    model: run.model,
    source: run.source === "examples" ? "Verified examples" : "Evaluation set",
    status: STATUS_LABEL[run.status],
    active: run.status === "pending" || run.status === "running",
    done: run.done,
    total: run.total,
    progress: `${run.done} / ${run.total}`,
    accuracy: percent(run.accuracy),
    counted: `${run.correct} of ${run.scored}`,
    recall: percent(run.context_recall),
    median: duration(run.median_ms),
    date: new Date(run.created_at).toLocaleString(locale),
  }));
}

/** How many questions ended in each outcome, in the order of OUTCOME_LABEL; none left out. */
export function outcomeCounts(results: EvaluationResult[]): [Outcome, number][] {
  const counts = new Map<Outcome, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  return (Object.keys(OUTCOME_LABEL) as Outcome[]).filter((o) => counts.has(o)).map((o) => [o, counts.get(o) ?? 0]);
}

/** A cell as text: NULL spelled out, structures as JSON. */
export function cellText(cell: Cell): string {
  if (cell === null) return "NULL";
  if (typeof cell === "object") return JSON.stringify(cell);
  return String(cell);
}

export interface DiffLine {
  side: "expected" | "generated";
  cells: string[];
}

export interface DiffView {
  /** The header: the expected query's column names (the generated rows are lined up under them). */
  columns: string[];
  lines: DiffLine[];
  /** One sentence per fact: row counts, columns, order, how the rows were obtained. */
  facts: string[];
}

/** What a question's diff shows: a few rows only the expected result has, then a few only the
 * generated one has, under the expected columns (or the generated ones when there are none). */
export function diffView(diff: EvaluationDiff): DiffView {
  const columns = diff.expected_columns.length ? diff.expected_columns : diff.generated_columns;
  const lines: DiffLine[] = [
    ...diff.only_expected.map((row) => ({ side: "expected" as const, cells: row.map(cellText) })),
    ...diff.only_generated.map((row) => ({ side: "generated" as const, cells: row.map(cellText) })),
  ];
  const facts: string[] = [];
  if (diff.reason) facts.push(`Not a match: ${diff.reason}.`);
  const rows = (n: number | null) => (n === null ? "?" : n === 1 ? "1 row" : `${n} rows`);
  if (diff.expected_row_count !== null || diff.generated_row_count !== null)
    facts.push(`Expected ${rows(diff.expected_row_count)}, generated ${rows(diff.generated_row_count)}.`);
  if (diff.generated_columns.length && diff.expected_columns.join() !== diff.generated_columns.join())
    facts.push(
      `Columns: expected ${diff.expected_columns.join(", ")}; generated ${diff.generated_columns.join(", ")}.`,
    );
  if (diff.ordered) facts.push("The expected query orders its rows, so order counts.");
  if (diff.note) facts.push(diff.note);
  return { columns, lines, facts };
}

/** The import's format from the file's name, else from its first character. */
export function guessFormat(name: string, content: string): "jsonl" | "csv" {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".json") || lower.endsWith(".ndjson")) return "jsonl";
  return content.trimStart().startsWith("{") ? "jsonl" : "csv";
}
