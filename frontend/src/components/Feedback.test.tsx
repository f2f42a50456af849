import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderWithClient, serveApi } from "../test/render";
import Feedback from "./Feedback";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A fake server keeping the PUT and DELETE bodies of h1's feedback. */
function server() {
  const sent: { method: string; body: unknown }[] = [];
  const calls = serveApi({
    "PUT /api/history/h1/feedback": (_, body) => {
      sent.push({ method: "PUT", body });
      const b = body as { rating: string; comment?: string | null };
      return { rating: b.rating, comment: b.comment ?? null, at: "2026-12-06T05:00:00Z" };
    },
    "DELETE /api/history/h1/feedback": () => {
      sent.push({ method: "DELETE", body: undefined });
      return new Response(null, { status: 204 });
    },
  });
  return { sent, calls };
}

describe("Feedback", () => {
  it("rates an answer, keeps a comment after a thumbs down, and takes the rating back", async () => {
    const { sent } = server();
    renderWithClient(<Feedback historyId="h1" />);
    const good = screen.getByRole("button", { name: "Good answer" });
    const bad = screen.getByRole("button", { name: "Bad answer" });
    expect(good).toHaveAttribute("aria-pressed", "false");
    expect(bad).toHaveAttribute("aria-pressed", "false");
    expect(screen.queryByRole("textbox")).toBeNull();

    await userEvent.click(bad);
    await waitFor(() => expect(bad).toHaveAttribute("aria-pressed", "true"));
    expect(good).toHaveAttribute("aria-pressed", "false");
    expect(sent[0]).toEqual({ method: "PUT", body: { rating: "down", comment: null } });
    expect(screen.getByText("Thanks: feedback saved.")).toBeInTheDocument();

    const box = screen.getByRole("textbox", { name: "What was wrong? (optional)" });
    const save = screen.getByRole("button", { name: "Save comment" });
    expect(save).toBeDisabled();
    await userEvent.type(box, "It counted rentals");
    await userEvent.click(save);
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toEqual({ method: "PUT", body: { rating: "down", comment: "It counted rentals" } });
    expect(await screen.findByText("Comment saved.")).toBeInTheDocument();

    // Switching to thumbs up keeps the comment; pressing it again takes the rating off.
    await userEvent.click(good);
    await waitFor(() => expect(good).toHaveAttribute("aria-pressed", "true"));
    expect(sent[2]).toEqual({ method: "PUT", body: { rating: "up", comment: "It counted rentals" } });
    await userEvent.click(good);
    await waitFor(() => expect(good).toHaveAttribute("aria-pressed", "false"));
    expect(sent[3]).toEqual({ method: "DELETE", body: undefined });
    expect(screen.queryByRole("textbox")).toBeNull();
    expect(screen.getByText("Feedback removed.")).toBeInTheDocument();
  });

  it("shows what is stored, and says when saving fails", async () => {
    serveApi({
      "PUT /api/history/h1/feedback": () =>
        new Response(JSON.stringify({ detail: "History item not found" }), { status: 404 }),
    });
    renderWithClient(<Feedback historyId="h1" rating="down" comment="Wrong table" />);
    expect(screen.getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("textbox", { name: "What was wrong? (optional)" })).toHaveValue("Wrong table");
    await userEvent.click(screen.getByRole("button", { name: "Good answer" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("History item not found");
    expect(screen.getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("button", { name: "Good answer" })).toHaveAttribute("aria-pressed", "false");
  });
});
