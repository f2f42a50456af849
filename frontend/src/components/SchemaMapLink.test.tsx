import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";
import type { Source } from "../api";
import SchemaMapLink from "./SchemaMapLink";

const SOURCES: Source[] = [
  { object: "public.film", kind: "table", score: 0.9, via: "search", used: true },
  { object: "public.category", kind: "table", score: 0.8, via: "query", used: true },
  { object: "public.actor", kind: "table", score: 0.5, via: "search", used: false },
];

describe("SchemaMapLink", () => {
  it("links to the map of the page's connection with the used tables highlighted", () => {
    render(
      <MemoryRouter initialEntries={["/chat?connection=c1&conversation=x"]}>
        <SchemaMapLink sources={SOURCES} />
      </MemoryRouter>,
    );
    const link = screen.getByRole("link", { name: "Show on schema map" });
    expect(link).toHaveAttribute("href", "/connections/c1/map?highlight=public.film%2Cpublic.category");
  });

  it("offers nothing without a connection, a router or a used table", () => {
    const { container, rerender } = render(
      <MemoryRouter initialEntries={["/chat"]}>
        <SchemaMapLink sources={SOURCES} />
      </MemoryRouter>,
    );
    expect(container).toBeEmptyDOMElement();
    rerender(
      <MemoryRouter initialEntries={["/chat?connection=c1"]}>
        <SchemaMapLink sources={SOURCES.map((s) => ({ ...s, used: false }))} />
      </MemoryRouter>,
    );
    expect(container).toBeEmptyDOMElement();
    rerender(<SchemaMapLink sources={SOURCES} />);
    expect(container).toBeEmptyDOMElement();
  });
});
