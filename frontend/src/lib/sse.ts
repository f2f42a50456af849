// Server-Sent Events over fetch: EventSource cannot POST a body or send a bearer token.
// Framing only: what an event's data means is AskEvent in ../api.ts, generated from the backend.
export interface SseEvent {
  event: string;
  data: unknown;
}

/** Splits complete events off the front of `buffer`; `rest` is the incomplete tail. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const normalized = buffer.replace(/\r\n/g, "\n");
  const blocks = normalized.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length === 0) continue;
    const text = data.join("\n");
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain text data stays a string
    }
    events.push({ event, data: parsed });
  }
  return { events, rest };
}
