import { describe, expect, it } from "vitest";
import { EXPIRED, sessionEnded } from "./session";
import { applyTheme, resolveTheme, storedTheme } from "./theme";
import { chartFor } from "./chart";
import { toCsv } from "./csv";
import { parseSse } from "./sse";

describe("parseSse", () => {
  it("splits complete events and keeps the incomplete tail", () => {
    const { events, rest } = parseSse('event: token\ndata: {"text":"Hi"}\n\nevent: done\ndata: {"ok"');
    expect(events).toEqual([{ event: "token", data: { text: "Hi" } }]);
    expect(rest).toBe('event: done\ndata: {"ok"');
    expect(parseSse(rest + ":1}\n\n").events).toEqual([{ event: "done", data: { ok: 1 } }]);
  });

  it("handles CRLF, multi-line data and plain text", () => {
    const { events } = parseSse("event: note\r\ndata: line one\r\ndata: line two\r\n\r\n");
    expect(events).toEqual([{ event: "note", data: "line one\nline two" }]);
  });
});

describe("toCsv", () => {
  it("quotes what needs quoting and neutralises formulas", () => {
    const csv = toCsv(
      ["name", "note"],
      [
        ["Ada, Countess", '=HYPERLINK("x")'],
        [null, { a: 1 }],
      ],
    );
    expect(csv).toBe('name,note\r\n"Ada, Countess","\'=HYPERLINK(""x"")"\r\n,"{""a"":1}"\r\n');
  });
});

describe("chartFor", () => {
  it("draws a bar chart for a category and a number", () => {
    const spec = chartFor(
      ["category", "films"],
      [
        ["Action", 64],
        ["Comedy", 58],
      ],
    );
    expect(spec).toEqual({
      kind: "bar",
      label: "category",
      value: "films",
      points: [
        { x: "Action", y: 64 },
        { x: "Comedy", y: 58 },
      ],
    });
  });

  it("draws a sorted line for a time series", () => {
    const spec = chartFor(
      ["month", "revenue"],
      [
        ["2005-07-01T00:00:00", 28373.89],
        ["2005-05-01T00:00:00", 4824.43],
      ],
    );
    expect(spec?.kind).toBe("line");
    expect(spec?.points[0].x).toBe("2005-05-01T00:00:00");
    expect(spec?.points.map((p) => p.t)).toEqual([
      Date.parse("2005-05-01T00:00:00"),
      Date.parse("2005-07-01T00:00:00"),
    ]);
  });

  it("never plots an id as a measure and does not chart a listing", () => {
    expect(
      chartFor(
        ["film_id", "title"],
        [
          [1, "ACADEMY DINOSAUR"],
          [2, "ACE GOLDFINGER"],
        ],
      ),
    ).toBeNull();
    const listing = [
      ["ACADEMY DINOSAUR", "A Epic Drama", 0.99, 86],
      ["ACE GOLDFINGER", "A Astounding Epistle", 4.99, 48],
    ];
    expect(chartFor(["title", "description", "rental_rate", "length"], listing)).toBeNull();
    expect(
      chartFor(
        ["store_id", "category", "films"],
        [
          [1, "Action", 30],
          [2, "Action", 34],
        ],
      )?.value,
    ).toBe("films");
  });

  it("draws nothing for one row, no number or no label", () => {
    expect(chartFor(["n"], [[1], [2]])).toBeNull();
    expect(chartFor(["a", "b"], [["x", 1]])).toBeNull();
    expect(
      chartFor(
        ["a", "b"],
        [
          ["x", "y"],
          ["z", "w"],
        ],
      ),
    ).toBeNull();
  });
});

describe("sessionEnded", () => {
  it("tells why the server stopped accepting the session", () => {
    expect(sessionEnded("This account is disabled")).toMatch(/has been disabled/);
    expect(sessionEnded("This session has ended: it was logged out, or the password was changed")).toMatch(
      /password was changed/,
    );
    expect(sessionEnded("Token expired")).toBe(EXPIRED);
    expect(sessionEnded(null)).toBe(EXPIRED);
  });
});

describe("theme", () => {
  it("follows the system unless a theme was picked, and remembers the pick", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
    applyTheme("dark");
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    expect(storedTheme()).toBe("dark");
    applyTheme("system");
    expect(storedTheme()).toBe("system");
  });
});
