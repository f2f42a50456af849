import { render, screen } from "@testing-library/react";
import { afterEach, vi } from "vitest";
import { ScrollArea } from "./ui";

// jsdom lays nothing out: the box's widths and ResizeObserver are stood in for.
function observe(scrollWidth: number, clientWidth: number) {
  vi.spyOn(HTMLElement.prototype, "scrollWidth", "get").mockReturnValue(scrollWidth);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(clientWidth);
  vi.stubGlobal(
    "ResizeObserver",
    class {
      constructor(private readonly callback: () => void) {}
      observe() {
        this.callback();
      }
      disconnect() {}
    },
  );
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

test("a table wider than its box is a named region the keyboard can reach", () => {
  observe(900, 390);
  render(
    <ScrollArea label="Audit events table">
      <table />
    </ScrollArea>,
  );
  const region = screen.getByRole("region", { name: "Audit events table" });
  expect(region).toHaveAttribute("tabindex", "0");
});

test("a table that fits adds no Tab stop and no landmark", () => {
  observe(390, 390);
  const { container } = render(
    <ScrollArea label="Audit events table">
      <table />
    </ScrollArea>,
  );
  expect(screen.queryByRole("region")).toBeNull();
  expect(container.firstElementChild).not.toHaveAttribute("tabindex");
});
