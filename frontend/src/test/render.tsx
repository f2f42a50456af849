// Rendering a screen in a test as the app renders it: a fresh query cache with the app's
// defaults, a router and the session context, over a fake server on fetch.
import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { AuthProvider } from "../auth";
import { newQueryClient } from "../lib/queries";

export function json(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** Handlers by "METHOD /path" (no query string); each gets the URL and the parsed body. */
export type Routes = Record<string, (url: URL, body: unknown) => unknown>;

/** Answers fetch from `routes` (a handler's value is sent as JSON; a Response as it is) and
 * records every call as "METHOD /path?query". An unknown route is a 404. */
export function serveApi(routes: Routes): string[] {
  const calls: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(String(input), "http://sextant.test");
    const method = init?.method ?? "GET";
    calls.push(`${method} ${url.pathname}${url.search}`);
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return json({ detail: `No route ${method} ${url.pathname}` }, 404);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const answer = await handler(url, body);
    return answer instanceof Response ? answer : json(answer);
  });
  return calls;
}

export function renderWithClient(ui: ReactElement, { route = "/" }: { route?: string } = {}) {
  const client = newQueryClient();
  const view = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>
        <AuthProvider>{ui}</AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { client, ...view };
}
