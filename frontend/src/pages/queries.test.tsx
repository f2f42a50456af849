import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdminUser, AuditPage, Connection, HistoryItem, SyncStatus } from "../api";
import HistoryPanel, { PHONE_QUERY } from "../components/HistoryPanel";
import { json, renderWithClient, serveApi } from "../test/render";
import AdminPage from "./AdminPage";
import ConnectionsPage from "./ConnectionsPage";
import DashboardPage from "./DashboardPage";

afterEach(() => {
  vi.restoreAllMocks();
  Reflect.deleteProperty(window, "matchMedia");
});

/** A screen `width` px wide, as far as CSS media queries go. */
function screenWidth(width: number) {
  const matches = (query: string) => (query === PHONE_QUERY ? width < 640 : false);
  Object.defineProperty(window, "matchMedia", {
    configurable: true,
    value: (query: string) => ({
      matches: matches(query),
      media: query,
      addEventListener: () => {},
      removeEventListener: () => {},
    }),
  });
}

function historyItem(id: string, question: string): HistoryItem {
  return {
    id, question, connection_id: "c1", conversation_id: `v-${id}`, answer: "", query: null, language: "sql",
    columns: [], rows: [], row_count: null, truncated: false, truncation: null, executed: false, sources: [],
    timings: { retrieve: 1, generate: 1, validate: 1, execute: 1, answer: 1 }, model: "llama3.2", error: null, error_code: null, created_at: "2026-12-05T10:00:00Z", origin: "asked", chart: null, feedback_rating: null, feedback_comment: null, feedback_at: null,
    verified_example: null, examples_used: [], notes_used: [],
  }; // prettier-ignore
}

const HISTORY = [historyItem("h1", "Films per category?"), historyItem("h2", "Revenue per month?")];

describe("HistoryPanel", () => {
  it("is a drawer on a phone: focus moves in, stays in, and goes back; Escape and Close shut it", async () => {
    screenWidth(390);
    const calls = serveApi({ "GET /api/history": () => ({ items: HISTORY, total: 2 }) });
    const onOpen = vi.fn();
    renderWithClient(<HistoryPanel onOpen={onOpen} onNew={() => {}} />);
    expect(screen.queryByRole("complementary", { name: "History" })).not.toBeInTheDocument();
    const opener = screen.getByRole("button", { name: "History" });
    expect(opener).toHaveAttribute("aria-expanded", "false");

    await userEvent.click(opener);
    const drawer = screen.getByRole("dialog", { name: "History" });
    expect(drawer).toHaveAttribute("aria-modal", "true");
    expect(within(drawer).getByRole("button", { name: "Close" })).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(opener).toHaveFocus();

    await userEvent.click(opener);
    await within(screen.getByRole("dialog")).findByRole("button", { name: "Revenue per month?" });
    const last = within(screen.getByRole("dialog")).getAllByRole("button", { name: "Delete from history" })[1];
    last.focus();
    await userEvent.tab(); // from the last control back to the first: Tab stays in the drawer
    expect(within(screen.getByRole("dialog")).getByRole("button", { name: "Close" })).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(last).toHaveFocus();
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(opener).toHaveFocus();

    await userEvent.click(opener);
    // Opened again, the drawer shows the cached list at once (and refreshes it behind).
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Films per category?" }));
    expect(onOpen).toHaveBeenCalledWith(HISTORY[0]);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls.filter((c) => c.startsWith("GET /api/history"))).toContain("GET /api/history?limit=50&rows=false");
  });

  it("stands beside the chat on a wide screen", async () => {
    screenWidth(1280);
    serveApi({ "GET /api/history": () => ({ items: HISTORY, total: 2 }) });
    const onOpen = vi.fn();
    renderWithClient(<HistoryPanel onOpen={onOpen} onNew={() => {}} />);
    const aside = screen.getByRole("complementary", { name: "History" });
    await userEvent.click(await within(aside).findByRole("button", { name: "Revenue per month?" }));
    expect(onOpen).toHaveBeenCalledWith(HISTORY[1]);
    expect(screen.queryByRole("button", { name: "History" })).not.toBeInTheDocument();
  });

  it("deletes an entry after a second click and refetches the list", async () => {
    screenWidth(1280);
    let items = [...HISTORY];
    const calls = serveApi({
      "GET /api/history": () => ({ items, total: items.length }),
      "DELETE /api/history/h1": () => {
        items = items.filter((i) => i.id !== "h1");
        return new Response(null, { status: 204 });
      },
    });
    renderWithClient(<HistoryPanel onOpen={() => {}} onNew={() => {}} />);
    await screen.findByRole("button", { name: "Films per category?" });
    const [first, second] = screen.getAllByRole("button", { name: "Delete from history" });
    expect(first).toHaveAccessibleDescription("Films per category?");
    expect(second).toHaveAccessibleDescription("Revenue per month?");
    await userEvent.click(first);
    await userEvent.click(screen.getByRole("button", { name: "Keep" }));
    expect(calls.filter((c) => c.startsWith("DELETE"))).toEqual([]);
    await userEvent.click(screen.getAllByRole("button", { name: "Delete from history" })[0]);
    const confirm = screen.getByRole("button", { name: "Delete" });
    expect(confirm).toHaveFocus();
    await userEvent.click(confirm);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Films per category?" })).not.toBeInTheDocument());
    expect(screen.getByRole("button", { name: "Revenue per month?" })).toBeInTheDocument();
    expect(calls.filter((c) => c.startsWith("DELETE"))).toEqual(["DELETE /api/history/h1"]);
  });
});

describe("AdminPage", () => {
  it("refetches the users and the audit trail after a confirmed change", async () => {
    const users: AdminUser[] = [
      { id: "u1", email: "admin@example.com", role: "admin", disabled: false, created_at: "2026-12-01T00:00:00Z" },
      { id: "u2", email: "worker@example.com", role: "user", disabled: false, created_at: "2026-12-01T00:00:00Z" },
    ];
    const audit: AuditPage = { items: [], total: 0, limit: 50, offset: 0 };
    const calls = serveApi({
      "GET /api/admin/users": () => users,
      "GET /api/admin/settings": () => ({ allow_signup: true }),
      "GET /api/admin/connections": () => [],
      "GET /api/audit": () => audit,
      "PATCH /api/admin/users/u2": (_, patch) => {
        Object.assign(users[1], patch);
        return users[1];
      },
    });
    renderWithClient(<AdminPage />);
    const row = (await screen.findByRole("cell", { name: "worker@example.com" })).closest("tr")!;
    expect(row).toHaveTextContent("active");
    await userEvent.click(within(row).getByRole("button", { name: "Disable worker@example.com" }));
    expect(calls.filter((c) => c.startsWith("PATCH"))).toEqual([]); // not before it is confirmed
    await userEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Confirm" }));
    await waitFor(() =>
      expect(screen.getByRole("cell", { name: "worker@example.com" }).closest("tr")).toHaveTextContent("disabled"),
    );
    expect(calls.filter((c) => c === "GET /api/admin/users")).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith("GET /api/audit"))).toHaveLength(2);
  });

  it("pages the audit trail by user, keeping the page shown while the next loads", async () => {
    const calls = serveApi({
      "GET /api/admin/users": () => [
        { id: "u2", email: "worker@example.com", role: "user", disabled: false, created_at: "2026-12-01T00:00:00Z" },
      ],
      "GET /api/admin/settings": () => ({ allow_signup: false }),
      "GET /api/admin/connections": () => [],
      "GET /api/audit": (url) => ({ items: [], total: 120, limit: 50, offset: Number(url.searchParams.get("offset")) }),
    });
    renderWithClient(<AdminPage />);
    expect(await screen.findByText("Events 1–50 of 120")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Older" }));
    expect(await screen.findByText("Events 51–100 of 120")).toBeInTheDocument();
    await userEvent.selectOptions(await screen.findByLabelText("User"), "worker@example.com");
    expect(await screen.findByText("Events 1–50 of 120")).toBeInTheDocument();
    expect(calls.filter((c) => c.startsWith("GET /api/audit"))).toEqual([
      "GET /api/audit?limit=50&offset=0",
      "GET /api/audit?limit=50&offset=50",
      "GET /api/audit?limit=50&actor_id=u2&offset=0",
    ]);
  });
});

describe("ConnectionsPage", () => {
  it("polls a running index and reloads the connection when it is done", async () => {
    const connection: Connection = {
      id: "c1", name: "shop", kind: "postgres", url: "postgresql://app:***@db/shop", options: {},
      server_version: "15.4", indexed_at: null, created_at: "2026-12-01T09:59:00Z", status: "running",
      object_count: null, reindex_interval_minutes: null, checked_at: null, last_check: null,
    }; // prettier-ignore
    const job = (status: SyncStatus["status"], done: number): SyncStatus => ({
      job_id: "j1", mode: "full", status, progress: { done, total: 2 }, counts: { objects: 2, embedded: 2, reused: 0 },
      error: null, started_at: "2026-12-01T10:00:00Z", finished_at: null, attempts: 1,
      waiting_for_worker: false,
    }); // prettier-ignore
    let polls = 0;
    const calls = serveApi({
      "GET /api/connections": () => [connection],
      "GET /api/connections/c1/sync": () => {
        polls += 1;
        if (polls < 3) return job("running", polls - 1);
        Object.assign(connection, { status: "succeeded", indexed_at: "2026-12-01T10:00:05Z", object_count: 2 });
        return job("succeeded", 2);
      },
    });
    renderWithClient(<ConnectionsPage />);
    expect(await screen.findByRole("progressbar", { name: "Indexing shop" })).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "Ask about shop" }, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.getByText(/Indexed 2 tables or collections/)).toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    // Polling stopped with the job; the list was fetched again once.
    await new Promise((r) => setTimeout(r, 900));
    expect(polls).toBe(3);
    expect(calls.filter((c) => c === "GET /api/connections")).toHaveLength(2);
  });
});

describe("a refused session", () => {
  it("ends the session once, without asking again, and says why", async () => {
    const refused = () => json({ detail: "This account is disabled" }, 401);
    const calls = serveApi({
      "GET /api/connections": refused,
      "GET /api/history": refused,
      "GET /health": () => ({ status: "ok", components: { database: "ok", embedding: "ok", llm: "ok" } }),
      "DELETE /api/auth/session": () => new Response(null, { status: 204 }),
    });
    renderWithClient(<DashboardPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("This account is disabled");
    await waitFor(() => expect(calls).toContain("DELETE /api/auth/session"));
    await new Promise((r) => setTimeout(r, 1200)); // past the first retry's delay
    expect(calls.filter((c) => c === "GET /api/connections")).toHaveLength(1); // a 401 is not retried
  });
});
