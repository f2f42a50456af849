import { describe, expect, it } from "vitest";
import type { HistoryItem } from "../api";
import { render, screen } from "@testing-library/react";
import AnswerTurn, { fromHistory, Progress, Provenance } from "../components/AnswerTurn";
import { renderWithClient, serveApi } from "../test/render";

const item: HistoryItem = {
  id: "h1",
  connection_id: "c1",
  conversation_id: "v1",
  question: "How many films are in each category?",
  answer: "Sports has the most films, 74.",
  query: "SELECT 1",
  language: "sql",
  columns: ["category", "films"],
  rows: [
    ["Sports", 74],
    ["Foreign", 73],
  ],
  row_count: 2,
  truncated: false,
  truncation: null,
  executed: true,
  sources: [
    { object: "public.category", kind: "table", score: 0.9, via: "search", used: true },
    { object: "public.film_actor", kind: "table", score: 0.5, via: "join", used: false },
  ],
  timings: { retrieve: 10, generate: 20, validate: 1, execute: 3, answer: 15 },
  model: "llama3.2",
  error: null,
  error_code: null,
  origin: "asked",
  chart: null,
  feedback_rating: null,
  feedback_comment: null,
  feedback_at: null,
  verified_example: null,
  examples_used: [],
  notes_used: [],
  created_at: "2026-12-05T10:00:00Z",
};

describe("fromHistory", () => {
  it("restores the evidence as first shown", () => {
    const turn = fromHistory(item);
    expect(turn.rows).toEqual(item.rows);
    expect(turn.columns).toEqual(["category", "films"]);
    expect(turn.executed).toBe(true);
    expect(turn.sources[0].object).toBe("public.category");
    expect(turn.timings.execute).toBe(3);
    expect(turn.truncated).toBe(false);
    expect(turn.chart).toBeNull();
    expect(fromHistory({ ...item, chart: { kind: "pie", x: "category", y: "films" } }).chart?.kind).toBe("pie");
  });

  it("says when the history kept only a preview", () => {
    const turn = fromHistory({ ...item, row_count: 500 });
    expect(turn.truncated).toBe(true);
    expect(turn.truncation).toMatch(/keeps the first 2 of 500 rows/);
  });

  it("keeps a refusal a refusal", () => {
    const turn = fromHistory({ ...item, executed: false, rows: [], columns: [], row_count: null, error: "Refused" });
    expect(turn.executed).toBe(false);
    expect(turn.truncated).toBe(false);
    expect(turn.error).toBe("Refused");
  });
});

describe("Provenance", () => {
  it("splits what the query used from what was also retrieved", () => {
    render(<Provenance sources={item.sources} />);
    const used = screen.getByText("Used by the query:").parentElement;
    const also = screen.getByText("Also retrieved:").parentElement;
    expect(used).toHaveTextContent(/^Used by the query: public\.category$/);
    expect(also).toHaveTextContent(/^Also retrieved: public\.film_actor \(join\)$/);
  });

  it("says only Retrieved when no query ran", () => {
    render(<Provenance sources={item.sources.map((s) => ({ ...s, used: false }))} />);
    expect(screen.getByTestId("sources")).toHaveTextContent(
      /^Retrieved: public\.category, public\.film_actor \(join\)$/,
    );
  });
});

describe("Progress", () => {
  it("names the step under way and counts the seconds", () => {
    render(<Progress step="execute" startedAt={Date.now() - 2500} />);
    expect(screen.getByRole("status")).toHaveTextContent(/^Step 4 of 5: Running the query on the database… 2\.\d s$/);
  });
});

describe("AnswerTurn for a person's query", () => {
  it("labels an edited turn, shows a refusal's reason once, and offers Edit and run only with a runner", () => {
    serveApi({}); // the chart panel saves a choice through the session's API
    const refused = {
      ...fromHistory({
        ...item,
        id: "h3",
        origin: "edited",
        answer: "The query was refused, so it was not run.",
        query: "DELETE FROM film",
        executed: false,
        columns: [],
        rows: [],
        row_count: null,
        sources: [],
        error: "Only SELECT queries are allowed",
        error_code: "query_refused",
      }),
    };
    const { unmount } = renderWithClient(<AnswerTurn turn={refused} exportCap={10} onRun={async () => undefined} />);
    expect(screen.getByTestId("origin").textContent).toBe("Edited query");
    expect(screen.getByText("from: How many films are in each category?")).toBeTruthy();
    expect(screen.getAllByText("Only SELECT queries are allowed")).toHaveLength(1);
    expect(screen.getByText("SQL (not run)")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Edit and run" })).toBeTruthy();
    unmount();
    renderWithClient(<AnswerTurn turn={fromHistory(item)} exportCap={10} />);
    expect(screen.queryByRole("button", { name: "Edit and run" })).toBeNull();
    expect(screen.queryByTestId("origin")).toBeNull();
  });
});
