import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Schema, Source } from "../api";
import { Provenance } from "./AnswerTurn";
import SchemaBrowser from "./SchemaBrowser";
import { renderWithClient, serveApi } from "../test/render";

const sources: Source[] = [
  { object: "public.film", kind: "table", score: 1, via: "example", used: true },
  { object: "public.category", kind: "table", score: 1, via: "example", used: true },
];
const example = {
  id: "e1",
  question: "How many films are in the Horror category?",
  verified_by_email: "ana@example.com",
  verified_at: "2026-12-01T10:00:00Z",
  similarity: null,
};

describe("Provenance of what the owner taught", () => {
  it("says an answer came from a verified example, by whom and when", () => {
    render(<Provenance sources={sources} verifiedExample={example} />);
    const verified = screen.getByTestId("verified");
    expect(verified).toHaveTextContent(
      /^Answered from a verified example \(no model\): “How many films are in the Horror category\?”, verified by ana@example\.com on .*2026.*\.$/,
    );
    expect(screen.getByText("Used by the query:").parentElement).toHaveTextContent(
      "public.film (example), public.category (example)",
    );
    expect(screen.queryByTestId("examples-used")).not.toBeInTheDocument();
  });

  it("lists the examples and notes the prompt carried", () => {
    render(
      <Provenance
        sources={[]}
        examplesUsed={[{ ...example, similarity: 0.8 }]}
        notesUsed={[
          { object: "", column: "", text: "One company, two stores." },
          { object: "public.payment", column: "", text: "Revenue means sum(amount)." },
          { object: "public.payment", column: "amount", text: "In US dollars." },
        ]}
      />,
    );
    expect(screen.queryByTestId("verified")).not.toBeInTheDocument();
    const examples = within(screen.getByTestId("examples-used")).getAllByRole("listitem");
    expect(examples.map((li) => li.textContent)).toEqual([
      expect.stringMatching(/^“How many films are in the Horror category\?”, verified by ana@example\.com on /),
    ]);
    const notes = within(screen.getByTestId("notes-used")).getAllByRole("listitem");
    expect(notes.map((li) => li.textContent)).toEqual([
      "this database: One company, two stores.",
      "public.payment: Revenue means sum(amount).",
      "public.payment.amount: In US dollars.",
    ]);
  });

  it("shows nothing when nothing was used", () => {
    const { container } = render(<Provenance sources={[]} />);
    expect(container).toBeEmptyDOMElement();
  });
});

const schema: Schema = {
  connection_id: "c1",
  kind: "postgres",
  server_version: "15",
  indexed_at: "2026-12-01T10:00:00Z",
  note: null,
  objects: [
    {
      schema_name: "public",
      name: "payment",
      kind: "table",
      comment: null,
      row_estimate: 16049,
      columns: [
        { name: "amount", type: "numeric", nullable: false, default: null, generated: null, comment: null, values: null, pii: null, note: null },
      ], // prettier-ignore
      primary_key: [],
      foreign_keys: [],
      referenced_by: [],
      samples: [],
      partitions: [],
      indexes: [],
      notes: [],
      note: "Revenue means sum(amount).",
      omitted_columns: 0,
    },
  ],
};

describe("Notes in the schema browser", () => {
  it("edits a table's note and adds a column's, through PUT", async () => {
    const sent: unknown[] = [];
    serveApi({
      "PUT /api/connections/c1/notes": (_, body) => {
        sent.push(body);
        return null;
      },
    });
    renderWithClient(<SchemaBrowser schema={schema} connectionId="c1" />);
    expect(screen.getByTestId("note")).toHaveTextContent("Note: Revenue means sum(amount).");
    await userEvent.click(screen.getByRole("button", { name: "Edit note on public.payment" }));
    const box = screen.getByLabelText("Note on public.payment");
    expect(box).toHaveValue("Revenue means sum(amount).");
    await userEvent.clear(box);
    await userEvent.type(box, "Refunds excluded.");
    await userEvent.click(screen.getByRole("button", { name: "Save note" }));
    await userEvent.click(screen.getByRole("button", { name: "Add note on public.payment.amount" }));
    await userEvent.type(screen.getByLabelText("Note on public.payment.amount"), "In US dollars.");
    await userEvent.click(screen.getByRole("button", { name: "Save note" }));
    await userEvent.click(screen.getByRole("button", { name: "Add note on this database" }));
    expect(screen.getByRole("button", { name: "Save note" })).toBeDisabled(); // nothing to save yet
    expect(sent).toEqual([
      { object_name: "public.payment", column_name: "", text: "Refunds excluded." },
      { object_name: "public.payment", column_name: "amount", text: "In US dollars." },
    ]);
  });

  it("deletes a note by saving it empty", async () => {
    const sent: unknown[] = [];
    serveApi({ "PUT /api/connections/c1/notes": (_, body) => (sent.push(body), null) });
    renderWithClient(<SchemaBrowser schema={schema} connectionId="c1" />);
    await userEvent.click(screen.getByRole("button", { name: "Edit note on public.payment" }));
    await userEvent.click(screen.getByRole("button", { name: "Delete note" }));
    expect(sent).toEqual([{ object_name: "public.payment", column_name: "", text: "" }]);
  });
});
