import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Cell, ChartChoice } from "../api";
import { AuthProvider } from "../auth";
import type { ChartSpec } from "../lib/chart";
import ChartPanel from "./ChartPanel";

// The drawing itself needs a browser (Playwright covers it): here it writes down what it was given.
vi.mock("./EChart", () => ({
  default: ({ spec }: { spec: ChartSpec }) => (
    <div data-testid="drawn" data-kind={spec.kind} data-x={spec.label} data-y={spec.value}>
      {spec.points.map((p) => p.x).join("|")}
    </div>
  ),
}));

afterEach(() => {
  vi.restoreAllMocks();
});

const CATEGORIES: Cell[][] = [
  ["Music", 51],
  ["Sports", 74],
  ["Foreign", 73],
];
const LISTING: Cell[][] = [
  [1, "ACADEMY DINOSAUR", "PG", 86],
  [2, "ACE GOLDFINGER", "G", 48],
];

/** Records every PATCH of a chart; answers anything else with an empty 401. */
function server() {
  const patches: { url: string; body: unknown }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    if (init?.method === "PATCH") {
      const body: unknown = JSON.parse(String(init.body));
      patches.push({ url: String(input), body });
      return Promise.resolve(new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));
    }
    return Promise.resolve(new Response(JSON.stringify({ detail: "Not authenticated" }), { status: 401 }));
  });
  return patches;
}

function show(columns: string[], rows: Cell[][], saved: ChartChoice | null = null, historyId: string | null = "h1") {
  return render(
    <MemoryRouter>
      <AuthProvider>
        <ChartPanel columns={columns} rows={rows} historyId={historyId} saved={saved} />
      </AuthProvider>
    </MemoryRouter>,
  );
}

describe("ChartPanel", () => {
  it("draws an aggregate automatically, sorted, and keeps a switch of kind with the answer", async () => {
    const patches = server();
    show(["category", "films"], CATEGORIES);
    const drawn = await screen.findByTestId("drawn");
    expect(drawn).toHaveAttribute("data-kind", "bar");
    expect(drawn).toHaveTextContent("Sports|Foreign|Music");
    expect(screen.getByText("films by category")).toBeInTheDocument();
    const kind = screen.getByRole("combobox", { name: "Chart type" });
    expect([...kind.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["Bar", "Pie"]);
    await userEvent.selectOptions(kind, "pie");
    expect(screen.getByTestId("drawn")).toHaveAttribute("data-kind", "pie");
    await waitFor(() => expect(patches).toHaveLength(1));
    expect(patches[0]).toEqual({ url: "/api/history/h1/chart", body: { kind: "pie", x: "category", y: "films" } });
    // Back to the automatic chart: null is kept.
    await userEvent.click(screen.getByRole("button", { name: "Automatic chart" }));
    expect(screen.getByTestId("drawn")).toHaveAttribute("data-kind", "bar");
    await waitFor(() => expect(patches).toHaveLength(2));
    expect(patches[1].body).toBeNull();
    expect(screen.queryByRole("button", { name: "Automatic chart" })).toBeNull();
    // Choosing what the automatic chart draws is the automatic chart too.
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Chart type" }), "pie");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Chart type" }), "bar");
    await waitFor(() => expect(patches).toHaveLength(4));
    expect(patches[3].body).toBeNull();
  });

  it("shows the kept choice of a reopened answer", async () => {
    server();
    show(["category", "films"], CATEGORIES, { kind: "pie", x: "category", y: "films" });
    expect(await screen.findByTestId("drawn")).toHaveAttribute("data-kind", "pie");
    expect(screen.getByRole("combobox", { name: "Chart type" })).toHaveValue("pie");
  });

  it("offers a Chart button for a listing, and switches columns", async () => {
    const patches = server();
    show(["film_id", "title", "rating", "length"], LISTING);
    expect(screen.queryByTestId("drawn")).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Chart" }));
    const drawn = await screen.findByTestId("drawn");
    expect(drawn).toHaveAttribute("data-x", "title");
    expect(drawn).toHaveAttribute("data-y", "length");
    // The id is never offered as the value; the axis can be any plain column but the value.
    const value = screen.getByRole("combobox", { name: "Value" });
    expect([...value.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["length"]);
    const along = screen.getByRole("combobox", { name: "Along" });
    expect([...along.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["film_id", "title", "rating"]);
    await userEvent.selectOptions(along, "rating");
    expect(screen.getByTestId("drawn")).toHaveAttribute("data-x", "rating");
    await waitFor(() => expect(patches).toHaveLength(2));
    expect(patches[1].body).toEqual({ kind: "bar", x: "rating", y: "length" });
    await userEvent.click(screen.getByRole("button", { name: "Remove chart" }));
    expect(screen.queryByTestId("drawn")).toBeNull();
    expect(screen.getByRole("button", { name: "Chart" })).toBeInTheDocument();
  });

  it("offers nothing for a result without a measure, and keeps nothing without a history entry", async () => {
    const patches = server();
    const { container } = show(["film_id", "title"], [[1, "A"], [2, "B"]]); // prettier-ignore
    expect(container).toBeEmptyDOMElement();
    show(["category", "films"], CATEGORIES, null, null);
    await userEvent.selectOptions(await screen.findByRole("combobox", { name: "Chart type" }), "pie");
    expect(patches).toHaveLength(0);
  });
});
