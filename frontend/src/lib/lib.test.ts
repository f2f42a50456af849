import { describe, expect, it } from "vitest";
import { EXPIRED, sessionEnded } from "./session";
import { applyTheme, resolveTheme, storedTheme } from "./theme";
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
