import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderWithClient, serveApi } from "../test/render";
import Suggestions, { SuggestionList } from "./Suggestions";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Suggestions", () => {
  it("shows each suggestion as a button that fills the question, examples marked", async () => {
    const calls = serveApi({
      "GET /api/connections/c1/suggestions": () => ({
        suggestions: [
          { question: "How many films are there?", origin: "example" },
          { question: "Top 10 payment rows by amount", origin: "schema" },
        ],
      }),
    });
    const picked: string[] = [];
    renderWithClient(<Suggestions connectionId="c1" onPick={(q) => picked.push(q)} />);
    const example = await screen.findByRole("button", { name: /How many films are there\?.*verified example/ });
    expect(example).toHaveAttribute("data-origin", "example");
    const schema = screen.getByRole("button", { name: /Top 10 payment rows by amount.*from the schema/ });
    await userEvent.click(schema);
    await userEvent.click(example);
    expect(picked).toEqual(["Top 10 payment rows by amount", "How many films are there?"]);
    expect(screen.getByRole("heading", { name: "Try asking" })).toBeInTheDocument();
    expect(calls).toEqual(["GET /api/connections/c1/suggestions"]);
  });

  it("shows nothing without suggestions or when they fail", async () => {
    const { container } = renderWithClient(<SuggestionList suggestions={[]} onPick={() => undefined} />);
    expect(container).toBeEmptyDOMElement();
    const calls = serveApi({});
    renderWithClient(<Suggestions connectionId="c2" onPick={() => undefined} />);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(screen.queryByTestId("suggestions")).toBeNull();
  });
});
