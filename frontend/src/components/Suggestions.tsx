// Suggested questions on an empty chat: the connection's verified examples first, then those the
// model wrote from the schema (or, with the model down, made from the schema's tables and keys).
// Pressing one puts it in the question box, to ask as is or to change first.
import type { Suggestion } from "../api";
import { useSuggestions } from "../lib/queries";

const ORIGIN_LABEL: Record<Suggestion["origin"], string> = {
  example: "verified example",
  model: "suggested by the model",
  schema: "from the schema",
};

export function SuggestionList({
  suggestions,
  onPick,
}: {
  suggestions: Suggestion[];
  onPick: (question: string) => void;
}) {
  if (suggestions.length === 0) return null;
  return (
    <section aria-labelledby="suggestions-heading" className="flex flex-col gap-2" data-testid="suggestions">
      <h2 id="suggestions-heading" className="text-sm font-medium text-slate-700">
        Try asking
      </h2>
      <ul className="flex flex-wrap gap-2">
        {suggestions.map((s) => (
          <li key={s.question} className="max-w-full">
            <button
              type="button"
              onClick={() => onPick(s.question)}
              title={ORIGIN_LABEL[s.origin]}
              data-origin={s.origin}
              className={`max-w-full rounded-full border px-3 py-1 text-left text-sm break-words hover:bg-slate-100 ${
                s.origin === "example"
                  ? "border-green-600 bg-green-50 text-green-900"
                  : "border-slate-300 bg-white text-slate-800"
              }`}
            >
              {s.question}
              <span className="sr-only"> ({ORIGIN_LABEL[s.origin]})</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The suggestions of one connection; nothing while they load or when they cannot be had. */
export default function Suggestions({
  connectionId,
  onPick,
}: {
  connectionId: string;
  onPick: (question: string) => void;
}) {
  const query = useSuggestions(connectionId || null);
  return <SuggestionList suggestions={query.data ?? []} onPick={onPick} />;
}
