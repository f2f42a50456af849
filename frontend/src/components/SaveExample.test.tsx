import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ExampleCheck } from "../api";
import { canSaveExample, formatOf, saveHint } from "../lib/examples";
import { renderWithClient, serveApi } from "../test/render";
import SaveExample from "./SaveExample";

// CodeMirror is its own chunk; here a plain textarea stands in for it, with the same props.
vi.mock("./QueryEditor", () => ({
  default: ({ initial, label, onChange }: { initial: string; label: string; onChange: (t: string) => void }) => (
    <textarea aria-label={label} defaultValue={initial} onChange={(e) => onChange(e.target.value)} />
  ),
}));

afterEach(() => {
  vi.restoreAllMocks();
});

const ran = (over: Partial<ExampleCheck> = {}): ExampleCheck => ({
  query: "SELECT 1",
  language: "sql",
  executed: true,
  columns: ["n"],
  rows: [[1]],
  row_count: 1,
  truncated: false,
  used_objects: [],
  error: null,
  error_code: null,
  ...over,
});

describe("canSaveExample", () => {
  it("needs a question and the current text to have run without error", () => {
    const lastRun = { text: "SELECT 1", result: ran() };
    expect(canSaveExample({ question: "q", text: "SELECT 1", lastRun, busy: false })).toBe(true);
    expect(canSaveExample({ question: "  ", text: "SELECT 1", lastRun, busy: false })).toBe(false);
    expect(canSaveExample({ question: "q", text: "SELECT 1", lastRun: null, busy: false })).toBe(false);
    expect(canSaveExample({ question: "q", text: "SELECT 1", lastRun, busy: true })).toBe(false);
    // Edited after the run: the new text has not run.
    expect(canSaveExample({ question: "q", text: "SELECT 2", lastRun, busy: false })).toBe(false);
    const refused = {
      text: "DROP TABLE x",
      result: ran({ executed: false, error: "Only SELECT", error_code: "query_refused" }),
    };
    expect(canSaveExample({ question: "q", text: "DROP TABLE x", lastRun: refused, busy: false })).toBe(false);
    const failed = {
      text: "SELECT 1/0",
      result: ran({ executed: true, error: "The database said: division by zero" }),
    };
    expect(canSaveExample({ question: "q", text: "SELECT 1/0", lastRun: failed, busy: false })).toBe(false);
  });

  it("says why Save is not available", () => {
    expect(saveHint({ question: "", text: "x", lastRun: null })).toMatch(/question/);
    expect(saveHint({ question: "q", text: "x", lastRun: null })).toMatch(/Run the query/);
    expect(saveHint({ question: "q", text: "y", lastRun: { text: "x", result: ran() } })).toMatch(/changed/);
    expect(saveHint({ question: "q", text: "x", lastRun: { text: "x", result: ran() } })).toBe("");
  });

  it("reads the import format from the file name", () => {
    expect(formatOf("examples.CSV")).toBe("csv");
    expect(formatOf("examples.jsonl")).toBe("jsonl");
    expect(formatOf("examples.txt")).toBe("jsonl");
  });
});

describe("SaveExample", () => {
  it("runs the query, enables Save only for the text that ran, and saves with the answer's id", async () => {
    const saved: unknown[] = [];
    serveApi({
      "POST /api/connections/c1/examples/check": (_, body) => {
        const query = (body as { query: string }).query;
        if (query.startsWith("DELETE"))
          return ran({
            query,
            executed: false,
            columns: [],
            rows: [],
            row_count: 0,
            error: "Only a SELECT may run",
            error_code: "query_refused",
          });
        return ran({ query, columns: ["title"], rows: [["ACADEMY DINOSAUR"]] });
      },
      "POST /api/connections/c1/examples": (_, body) => {
        saved.push(body);
        return new Response(
          JSON.stringify({ id: "e1", question: "Three films", query: "SELECT title FROM film", language: "sql",
            used_objects: ["public.film"], source: "feedback", history_id: "h1", verified_by_email: "a@b.c",
            verified_at: "2026-12-06T07:00:00Z" }), // prettier-ignore
          { status: 201, headers: { "Content-Type": "application/json" } },
        );
      },
    });
    renderWithClient(
      <SaveExample
        connectionId="c1"
        language="sql"
        question="Three films"
        query="SELECT title FROM film"
        historyId="h1"
      />,
    );
    const save = await screen.findByRole("button", { name: "Save" });
    const editor = await screen.findByRole("textbox", { name: "The example's query" });
    expect(save).toBeDisabled();
    expect(screen.getByTestId("save-hint")).toHaveTextContent("Run the query");

    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    expect(await screen.findByText("ACADEMY DINOSAUR")).toBeInTheDocument();
    expect(save).toBeEnabled();

    // An edit disables Save until the new text has run; a refusal shows its reason and keeps it disabled.
    await userEvent.clear(editor);
    await userEvent.type(editor, "DELETE FROM film");
    expect(save).toBeDisabled();
    expect(screen.getByTestId("save-hint")).toHaveTextContent("changed");
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    expect(await screen.findByTestId("refusal")).toHaveTextContent("Only a SELECT may run");
    expect(save).toBeDisabled();

    await userEvent.clear(editor);
    await userEvent.type(editor, "SELECT title FROM film");
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(save).toBeEnabled());
    const question = screen.getByRole("textbox", { name: "Question" });
    await userEvent.clear(question);
    expect(save).toBeDisabled();
    await userEvent.type(question, "Three films?");
    await userEvent.click(save);
    expect(await screen.findByText(/Saved as a verified example/)).toBeInTheDocument();
    expect(saved).toEqual([{ question: "Three films?", query: "SELECT title FROM film", history_id: "h1" }]);
    expect(screen.getByRole("link", { name: /examples of this connection/ })).toHaveAttribute(
      "href",
      "/connections/c1/examples",
    );
  });
});
