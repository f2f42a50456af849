import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiToken } from "../api";
import { renderWithClient, serveApi } from "../test/render";
import { ApiTokens, tokenState } from "./ApiTokens";

afterEach(() => {
  vi.restoreAllMocks();
});

const base: ApiToken = {
  id: "t1",
  name: "nightly report",
  prefix: "sxt_abcdefgh",
  scope: "read",
  created_at: "2026-12-01T00:00:00Z",
  expires_at: null,
  last_used_at: null,
  revoked_at: null,
};

describe("tokenState", () => {
  it("says active, revoked or expired", () => {
    const now = new Date("2026-12-06T00:00:00Z");
    expect(tokenState(base, now)).toBe("active");
    expect(tokenState({ ...base, expires_at: "2026-12-07T00:00:00Z" }, now)).toBe("active");
    expect(tokenState({ ...base, expires_at: "2026-12-05T00:00:00Z" }, now)).toBe("expired");
    expect(tokenState({ ...base, revoked_at: "2026-12-02T00:00:00Z" }, now)).toBe("revoked");
  });
});

describe("ApiTokens", () => {
  it("makes a token, shows it once, and revokes one after confirming", async () => {
    let stored: ApiToken[] = [base];
    const sent: unknown[] = [];
    serveApi({
      "GET /api/tokens": () => ({ items: stored }),
      "POST /api/tokens": (_, body) => {
        sent.push(body);
        const made = { ...base, id: "t2", name: "mcp", scope: "ask" as const, prefix: "sxt_zyxwvuts" };
        stored = [made, ...stored];
        return { ...made, token: "sxt_zyxwvuts-the-whole-secret" };
      },
      "DELETE /api/tokens/t1": () => {
        stored = stored.map((t) => (t.id === "t1" ? { ...t, revoked_at: "2026-12-06T01:00:00Z" } : t));
        return new Response(null, { status: 204 });
      },
    });
    renderWithClient(<ApiTokens />);
    const table = await screen.findByRole("table", { name: "Your API tokens" });
    expect(within(table).getByText("nightly report")).toBeInTheDocument();

    const make = screen.getByRole("button", { name: "Make token" });
    expect(make).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Token name"), "mcp");
    await userEvent.selectOptions(screen.getByLabelText("Scope"), "ask");
    await userEvent.selectOptions(screen.getByLabelText("Expires after"), "Never");
    await userEvent.click(make);
    expect(await screen.findByTestId("new-token")).toHaveTextContent("sxt_zyxwvuts-the-whole-secret");
    expect(sent).toEqual([{ name: "mcp", scope: "ask", expires_in_days: null }]);
    await waitFor(() => expect(within(table).getByText("mcp")).toBeInTheDocument());
    // The list never holds the token itself, only its first characters.
    expect(within(table).queryByText(/the-whole-secret/)).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByTestId("new-token")).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Revoke nightly report…" }));
    await userEvent.click(screen.getByRole("button", { name: "Revoke nightly report" }));
    await waitFor(() => expect(within(table).getByText("revoked")).toBeInTheDocument());
    expect(screen.queryByRole("button", { name: "Revoke nightly report…" })).toBeNull();
  });
});
