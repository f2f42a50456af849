import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Connection, SyncStatus } from "../api";
import { Freshness, JobProblem, sampleColumns } from "./ConnectionsPage";

const base: Connection = {
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
  checked_at: "2026-12-01T10:00:00Z",
  last_check: null,
};

describe("Freshness", () => {
  it("says what the last check found", () => {
    const { rerender } = render(<Freshness connection={base} onSchedule={() => {}} />);
    const freshness = () => screen.getByLabelText("Index freshness").textContent;
    expect(freshness()).toMatch(/^Index built .*; not checked for changes since\.$/);
    rerender(
      <Freshness
        connection={{ ...base, last_check: "unchanged", checked_at: "2026-12-02T08:00:00Z" }}
        onSchedule={() => {}}
      />,
    );
    expect(freshness()).toMatch(/last checked .*: the schema is unchanged\.$/);
    rerender(<Freshness connection={{ ...base, last_check: "changed" }} onSchedule={() => {}} />);
    expect(freshness()).toMatch(/^Index rebuilt .* because the schema had changed/);
    rerender(<Freshness connection={{ ...base, indexed_at: null }} onSchedule={() => {}} />);
    expect(freshness()).toBe("Not indexed yet.");
  });

  it("shows and changes the schedule, including an interval set through the API", async () => {
    const onSchedule = vi.fn();
    const { rerender } = render(<Freshness connection={base} onSchedule={onSchedule} />);
    const select = screen.getByLabelText("Check for changes");
    expect(select).toHaveValue("");
    await userEvent.selectOptions(select, "Every hour");
    expect(onSchedule).toHaveBeenCalledWith("60");
    rerender(<Freshness connection={{ ...base, reindex_interval_minutes: 45 }} onSchedule={onSchedule} />);
    expect(screen.getByLabelText("Check for changes")).toHaveValue("45");
    expect(screen.getByRole("option", { name: "Every 45 minutes" })).toBeInTheDocument();
  });
});

describe("sampleColumns", () => {
  it("follows the column list, with keys of no column last", () => {
    const samples = [{ b: "2", a: "1", extra: "x" }, { a: "3" }];
    expect(sampleColumns(["a", "b", "c"], samples)).toEqual(["a", "b", "extra"]);
  });
});

describe("JobProblem", () => {
  const job: SyncStatus = {
    job_id: "j1",
    mode: "full",
    status: "pending",
    progress: { done: 0, total: 0 },
    counts: {},
    error: null,
    started_at: null,
    finished_at: null,
    attempts: 0,
    waiting_for_worker: false,
  };

  it("says why a failed job failed and why a queued-again job waits, and nothing otherwise", () => {
    const { container, rerender } = render(<JobProblem status={job} />);
    expect(container).toBeEmptyDOMElement();
    rerender(<JobProblem status={{ ...job, error: "Retrying after: the embedding service is unreachable" }} />);
    expect(container).toHaveTextContent(
      "Retrying after: the embedding service is unreachable; it will start again shortly.",
    );
    rerender(<JobProblem status={{ ...job, status: "failed", error: "password authentication failed" }} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Indexing failed: password authentication failed");
    rerender(<JobProblem status={{ ...job, status: "running", error: "Retrying after: x" }} />);
    expect(container).toBeEmptyDOMElement();
    rerender(<JobProblem status={{ ...job, waiting_for_worker: true }} />);
    expect(container).toHaveTextContent(/^Waiting for an indexing worker: every worker is busy, or none is running/);
  });
});
