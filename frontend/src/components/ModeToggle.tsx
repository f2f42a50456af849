// The Chat screen's two ways in: ask the model a question, or write the query yourself.
export type ChatMode = "ask" | "query";

const MODES: { mode: ChatMode; label: string }[] = [
  { mode: "ask", label: "Ask a question" },
  { mode: "query", label: "Write a query" },
];

export default function ModeToggle({ mode, onChange }: { mode: ChatMode; onChange: (mode: ChatMode) => void }) {
  return (
    <div role="group" aria-label="How to ask" className="flex w-fit rounded border border-slate-300 text-sm">
      {MODES.map((m) => (
        <button
          key={m.mode}
          type="button"
          aria-pressed={mode === m.mode}
          onClick={() => onChange(m.mode)}
          className={`px-3 py-1.5 first:rounded-l last:rounded-r ${
            mode === m.mode ? "bg-slate-800 text-white" : "bg-white text-slate-800 hover:bg-slate-100"
          }`}
        >
          {m.label}
        </button>
      ))}
    </div>
  );
}
