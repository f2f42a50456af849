import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { EvaluationDiff, EvaluationResult, EvaluationRun, EvaluationRunDetail } from "../../api";
import { diffView, duration, guessFormat, outcomeCounts, percent, runRows } from "../../lib/evaluation";
import RunDetail, { DiffTable } from "./RunDetail";
import RunsTable from "./RunsTable";

function run(over: Partial<EvaluationRun> = {}): EvaluationRun {
  return {
    id: "r1",
    connection_id: "c1",
    source: "set",
    model: "qwen2.5-coder:7b",
    settings: { top_k: 10, sample_rows: 2, use_examples: true },
    status: "done",
    done: 31,
    total: 31,
    correct: 18,
    scored: 30,
    accuracy: 0.6,
    context_recall: 0.9333,
    median_ms: 1234.5,
    error: null,
    created_at: "2026-12-06T08:00:00Z",
    started_at: "2026-12-06T08:00:00Z",
    finished_at: "2026-12-06T08:01:00Z",
    ...over,
  };
}

const DIFF: EvaluationDiff = {
  expected_columns: ["id", "name"],
  generated_columns: ["name", "id"],
  expected_row_count: 3,
  generated_row_count: 3,
  ordered: false,
  only_expected: [[2, "b"]],
  only_generated: [[9, null]],
  column_map: null,
  reason: "the rows differ",
  note: null,
};

function result(over: Partial<EvaluationResult> = {}): EvaluationResult {
  return {
    position: 0,
    question: "Which customers?",
    expected_query: "SELECT id, name FROM customer",
    generated_query: "SELECT name, id FROM customer WHERE id > 1",
    outcome: "mismatch",
    correct: false,
    context_recall: 0.5,
    missing_objects: ["public.address"],
    timings: { retrieve: 12, generate: 800, validate_ms: 3, execute: 20, total: 840, expected: 15 },
    diff: DIFF,
    error: null,
    ...over,
  };
}

describe("evaluation display logic", () => {
  it("writes shares, times and formats as a person reads them", () => {
    expect(percent(0.6)).toBe("60%");
    expect(percent(0.93333)).toBe("93.3%");
    expect(percent(null)).toBe("—");
    expect(duration(340.4)).toBe("340 ms");
    expect(duration(1234.5)).toBe("1.2 s");
    expect(duration(125_000)).toBe("2 min 5 s");
    expect(duration(null)).toBe("—");
    expect(guessFormat("set.csv", "{")).toBe("csv");
    expect(guessFormat("set.jsonl", "question,query")).toBe("jsonl");
    expect(guessFormat("", '  {"question": 1}')).toBe("jsonl");
    expect(guessFormat("", "question,query")).toBe("csv");
  });

  it("makes one table row per run, saying what the accuracy counts", () => {
    const [done, going] = runRows([run(), run({ id: "r2", status: "running", done: 4, accuracy: null })]);
    expect(done).toMatchObject({ accuracy: "60%", counted: "18 of 30", recall: "93.3%", median: "1.2 s" });
    expect(done.active).toBe(false);
    expect(going).toMatchObject({ status: "Running", active: true, progress: "4 / 31", accuracy: "—" });
  });

  it("counts the outcomes in a fixed order, leaving out the absent ones", () => {
    const results = [result(), result({ outcome: "match" }), result({ outcome: "match" })];
    expect(outcomeCounts(results)).toEqual([
      ["match", 2],
      ["mismatch", 1],
    ]);
  });

  it("lists the rows only one side has under the expected columns, with the facts", () => {
    const view = diffView(DIFF);
    expect(view.columns).toEqual(["id", "name"]);
    expect(view.lines).toEqual([
      { side: "expected", cells: ["2", "b"] },
      { side: "generated", cells: ["9", "NULL"] },
    ]);
    expect(view.facts).toEqual([
      "Not a match: the rows differ.",
      "Expected 3 rows, generated 3 rows.",
      "Columns: expected id, name; generated name, id.",
    ]);
    const ordered = diffView({ ...DIFF, ordered: true, reason: null, generated_columns: ["id", "name"] });
    expect(ordered.facts).toEqual([
      "Expected 3 rows, generated 3 rows.",
      "The expected query orders its rows, so order counts.",
    ]);
  });
});

describe("evaluation components", () => {
  it("draws the runs side by side and opens or deletes one", () => {
    const open = vi.fn();
    const remove = vi.fn();
    render(
      <RunsTable
        runs={[run({ id: "new", model: "llama3.2" }), run()]}
        selected="new"
        onOpen={open}
        onStop={() => {}}
        onDelete={remove}
      />,
    );
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByRole("rowheader")).toHaveTextContent("llama3.2");
    expect(rows[0]).toHaveAttribute("aria-current", "true");
    expect(within(rows[1]).getAllByRole("cell")[1]).toHaveTextContent("60%18 of 30");
    fireEvent.click(screen.getByRole("button", { name: "Open the run of qwen2.5-coder:7b" }));
    expect(open).toHaveBeenCalledWith("r1");
    fireEvent.click(screen.getByRole("button", { name: "Delete the run of llama3.2" }));
    expect(remove).toHaveBeenCalledWith("new");
  });

  it("shows a progress bar and a Stop button while a run goes on", () => {
    const stop = vi.fn();
    render(
      <RunsTable
        runs={[run({ status: "running", done: 3, total: 12 }), run({ id: "old" })]}
        selected={null}
        onOpen={() => {}}
        onStop={stop}
        onDelete={() => {}}
      />,
    );
    expect(screen.getByRole("progressbar", { name: "Evaluation with qwen2.5-coder:7b" })).toHaveAttribute(
      "aria-valuenow",
      "25",
    );
    const buttons = screen.getAllByRole("button", { name: "Stop the run of qwen2.5-coder:7b" });
    expect(buttons).toHaveLength(1); // the finished run has none
    fireEvent.click(buttons[0]);
    expect(stop).toHaveBeenCalledWith("r1");
  });

  it("draws a question's diff as a table marking each row's side", () => {
    render(<DiffTable result={result()} />);
    const table = screen.getByRole("table");
    const rows = within(table).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual(["Only inidname", "expected2b", "generated9NULL"]);
  });

  it("lists every question of a run with its outcome, queries and what was not retrieved", () => {
    const detail: EvaluationRunDetail = {
      ...run(),
      results: [
        result({
          position: 0,
          outcome: "match",
          diff: { ...DIFF, reason: null, only_expected: [], only_generated: [] },
        }),
        result({ position: 1, question: "Broken?", outcome: "expected_failed", error: "The expected query failed" }),
      ],
    };
    render(<RunDetail run={detail} />);
    expect(screen.getByText(/1 left out because the expected query failed/)).toBeInTheDocument();
    const outcomes = screen.getByRole("list", { name: "Outcomes" });
    expect(outcomes).toHaveTextContent("Match: 1");
    expect(outcomes).toHaveTextContent("Expected query failed: 1");
    const questions = within(screen.getByRole("list", { name: "Questions" })).getAllByRole("listitem");
    expect(questions).toHaveLength(2);
    expect(questions[0]).toHaveTextContent("not retrieved: public.address");
    expect(questions[1]).toHaveTextContent("The expected query failed");
    expect(within(questions[1]).queryByRole("table")).toBeNull();
  });
});
