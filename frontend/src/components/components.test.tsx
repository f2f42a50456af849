import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../auth";
import LoginPage from "../pages/LoginPage";
import AnswerText from "./AnswerText";
import ResultTable from "./ResultTable";

afterEach(() => {
  vi.restoreAllMocks();
  sessionStorage.clear();
});

describe("ResultTable", () => {
  const rows = Array.from({ length: 45 }, (_, i) => [i + 1, `name ${i + 1}`]);

  it("pages through the rows", async () => {
    render(<ResultTable columns={["id", "name"]} rows={rows} truncated={false} />);
    expect(screen.getByText("Page 1 of 3")).toBeInTheDocument();
    expect(screen.getByText("name 20")).toBeInTheDocument();
    expect(screen.queryByText("name 21")).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(screen.getByText("name 21")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Previous" })).toBeEnabled();
  });

  it("sorts by value with NULL last, filters per column and copies the table", async () => {
    const data = [
      [3, "Sports", 74, "2005-05-24T22:53:30"],
      [10, "Foreign", null, "2006-02-14T00:00:00"],
      [2, "Action", 64000.5, "2005-08-01T12:00:00"],
    ];
    const written: string[] = [];
    Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
    Object.defineProperty(navigator, "clipboard", {
      value: { writeText: (t: string) => Promise.resolve(void written.push(t)) },
      configurable: true,
    });
    render(<ResultTable columns={["category_id", "name", "films", "last_update"]} rows={data} truncated={false} />);
    const table = screen.getByRole("table", { name: "Result rows" });
    const firstColumn = () =>
      // The first cell of a row holds its copy button.
      [...table.querySelectorAll("tbody tr")].map((r) => r.querySelectorAll("td")[1]?.textContent ?? "");
    // Numbers by value (10 after 3, not before), readable dates, NULL shown apart.
    await userEvent.click(screen.getByRole("button", { name: "category_id" }));
    expect(firstColumn()).toEqual(["2", "3", "10"]);
    await userEvent.click(screen.getByRole("button", { name: /category_id/ }));
    expect(firstColumn()).toEqual(["10", "3", "2"]);
    await userEvent.click(screen.getByRole("button", { name: /^films/ }));
    expect(firstColumn()).toEqual(["3", "2", "10"]); // 74 < 64,000.5, NULL last
    expect(screen.getByText("2006-02-14")).toBeInTheDocument();
    expect(screen.getByText("2005-05-24 22:53:30")).toBeInTheDocument();
    expect(screen.getByText("NULL")).toHaveClass("italic");
    expect(screen.getByText(new Intl.NumberFormat().format(64000.5))).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Filter name"), "or");
    expect(firstColumn()).toEqual(["3", "10"]);
    expect(screen.getByText(/3 rows, 2 match the filters/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Copy table" }));
    expect(written.at(-1)).toBe(
      "category_id\tname\tfilms\tlast_update\n3\tSports\t74\t2005-05-24T22:53:30\n10\tForeign\t\t2006-02-14T00:00:00",
    );
    expect(await screen.findByRole("status")).toHaveTextContent("Copied the table.");
  });

  it("copies a row as it is shown, with the header, through the fallback without a clipboard API", async () => {
    const data = [
      [1, "Sports", 74],
      [2, "Foreign", null],
      [3, "Action", 64],
    ];
    // Plain HTTP on a LAN host: no Clipboard API, so the text goes through a selected textarea.
    Object.defineProperty(window, "isSecureContext", { value: false, configurable: true });
    const copied: string[] = [];
    const execCommand = vi.fn((command: string) => {
      copied.push(`${command}:${document.querySelector("textarea")?.value}`);
      return true;
    });
    Object.defineProperty(document, "execCommand", { value: execCommand, configurable: true });
    render(<ResultTable columns={["id", "category", "films"]} rows={data} truncated={false} />);
    await userEvent.click(screen.getByRole("button", { name: /^films/ }));
    // Sorted by films: Action (64), Sports (74), Foreign (NULL last); row 1 is the one shown first.
    await userEvent.click(screen.getByRole("button", { name: "Copy row 1" }));
    expect(copied.at(-1)).toBe("copy:id\tcategory\tfilms\n3\tAction\t64");
    expect(await screen.findByRole("status")).toHaveTextContent("Copied the row.");
    await userEvent.click(screen.getByRole("button", { name: "Copy row 3" }));
    expect(copied.at(-1)).toBe("copy:id\tcategory\tfilms\n2\tForeign\t");
    expect(document.querySelector("textarea")).toBeNull(); // the helper textarea is gone again
    // A browser that refuses says so instead of claiming a copy.
    execCommand.mockReturnValue(false);
    await userEvent.click(screen.getByRole("button", { name: "Copy row 2" }));
    expect(await screen.findByRole("status")).toHaveTextContent("This browser refused to copy");
  });

  it("numbers the copy buttons by the rows shown, across pages", async () => {
    const rows = Array.from({ length: 25 }, (_, i) => [i + 1]);
    render(<ResultTable columns={["n"]} rows={rows} truncated={false} />);
    expect(screen.getAllByRole("button", { name: /^Copy row/ })).toHaveLength(20);
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(screen.getAllByRole("button", { name: /^Copy row/ }).map((b) => b.getAttribute("aria-label"))).toEqual([
      "Copy row 21",
      "Copy row 22",
      "Copy row 23",
      "Copy row 24",
      "Copy row 25",
    ]);
  });

  it("says when the result was cut", () => {
    render(<ResultTable columns={["id"]} rows={[[1]]} truncated />);
    expect(screen.getByText(/not the whole result: only the first rows were fetched/)).toBeInTheDocument();
  });
});

function renderLogin() {
  return render(
    <MemoryRouter>
      <AuthProvider>
        <LoginPage />
      </AuthProvider>
    </MemoryRouter>,
  );
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A server: GET /api/auth/signup says whether sign-up is open; every other call gets `other`. */
function serve(signupOpen: boolean, other: () => Response | Promise<Response>) {
  vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
    Promise.resolve(String(input).endsWith("/api/auth/signup") ? json({ open: signupOpen }) : other()),
  );
}

describe("LoginPage", () => {
  it("labels every input and shows the server's sentence for a wrong password", async () => {
    serve(true, () => json({ detail: "Wrong email or password" }, 401));
    renderLogin();
    await userEvent.type(screen.getByLabelText("Email"), "me@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "nope-nope");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password");
  });

  it("says when the server does not answer", async () => {
    serve(true, () => Promise.reject(new TypeError("Failed to fetch")));
    renderLogin();
    await userEvent.type(screen.getByLabelText("Email"), "me@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "whatever1");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("did not answer");
  });

  it("switches to registration and shows a taken email as a sentence", async () => {
    serve(true, () => json({ detail: "That email is already registered" }, 409));
    renderLogin();
    await userEvent.click(await screen.findByRole("button", { name: /Create one/ }));
    await userEvent.type(screen.getByLabelText("Email"), "taken@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long-password");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That email is already registered");
  });

  it("offers no sign-up when it is closed and says whom to ask", async () => {
    serve(false, () => json({ detail: "unexpected" }, 500));
    renderLogin();
    expect(await screen.findByText("Sign-up is closed: ask an administrator for an account.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Create one/ })).not.toBeInTheDocument();
  });
});

describe("AnswerText", () => {
  it("renders the safe Markdown subset and nothing that loads or runs", () => {
    const text = [
      "Sports has **74** films, *the most*; see `film_category`.",
      "",
      "- Sports",
      "- Foreign",
      "",
      '<img src="http://example.com/x.png" onerror="alert(1)"><script>alert(2)</script>',
      "",
      "[click](http://example.com) ![pic](http://example.com/p.png) # not a heading",
    ].join("\n");
    const { container } = render(<AnswerText text={text} />);
    expect(container.querySelector("strong")).toHaveTextContent("74");
    expect(container.querySelector("em")).toHaveTextContent("the most");
    expect(container.querySelector("code")).toHaveTextContent("film_category");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("img, script, a, h1")).toBeNull();
    expect(container).toHaveTextContent("click");
    expect(container.textContent).not.toContain("**");
  });

  it("keeps a bare number an answer, not an empty list", () => {
    const { container } = render(<AnswerText text="74." />);
    expect(container).toHaveTextContent(/^74\.$/);
    const list = render(<AnswerText text={"1. Sports\n2. Foreign"} />).container;
    expect(list.querySelectorAll("li")).toHaveLength(2);
  });
});
