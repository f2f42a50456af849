import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Connection } from "../api";
import { AnswerCacheSwitch } from "../pages/ConnectionsPage";
import { CachedNote, withoutCachedSentence } from "./AnswerTurn";

const connection: Connection = {
  id: "c1",
  name: "shop",
  kind: "postgres",
  url: "postgresql://app:***@db/shop",
  options: {},
  server_version: "15.4",
  indexed_at: "2026-12-01T10:00:00Z",
  created_at: "2026-12-01T09:59:00Z",
  status: "succeeded",
  object_count: 12,
  reindex_interval_minutes: null,
  checked_at: null,
  last_check: null,
};

describe("a cached answer", () => {
  it("says when it was kept and asks again on Run again", async () => {
    const onRunAgain = vi.fn();
    render(<CachedNote cachedAt="2026-12-06T08:00:00Z" onRunAgain={onRunAgain} />);
    expect(screen.getByTestId("cached")).toHaveTextContent(/^Cached answer from .*2026.*no model and no query ran now/);
    await userEvent.click(screen.getByRole("button", { name: "Run again" }));
    expect(onRunAgain).toHaveBeenCalledOnce();
  });

  it("drops the server's sentence that the note repeats, and nothing else", () => {
    const sentence =
      "(Cached answer from 2026-12-06 08:42 UTC: no query ran now. Run it again for the database as it is now.)";
    expect(withoutCachedSentence(`1,000 films.\n\n${sentence}`)).toBe("1,000 films.");
    expect(withoutCachedSentence("1,000 films (cached answer from nowhere)")).toBe(
      "1,000 films (cached answer from nowhere)",
    );
  });

  it("offers no Run again while another question runs", () => {
    render(<CachedNote cachedAt="2026-12-06T08:00:00Z" />);
    expect(screen.queryByRole("button", { name: "Run again" })).toBeNull();
  });
});

describe("the connection's answer-cache switch", () => {
  it("is on unless the connection turned it off, and changes it", async () => {
    const onChange = vi.fn();
    const { rerender } = render(<AnswerCacheSwitch connection={connection} onChange={onChange} />);
    const box = screen.getByRole("checkbox", { name: /Answer cache/ });
    expect(box).toBeChecked();
    await userEvent.click(box);
    expect(onChange).toHaveBeenCalledWith(false);
    rerender(
      <AnswerCacheSwitch connection={{ ...connection, options: { answer_cache: false } }} onChange={onChange} />,
    );
    expect(screen.getByRole("checkbox", { name: /Answer cache/ })).not.toBeChecked();
    await userEvent.click(screen.getByRole("checkbox", { name: /Answer cache/ }));
    expect(onChange).toHaveBeenLastCalledWith(true);
  });
});
