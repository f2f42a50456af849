// The Chat screen's two ways in: ask the model a question, or write the query yourself.
// Radios (not buttons), so that "Ask" stays the one button named Ask.
export type ChatMode = "ask" | "query";

const MODES: { mode: ChatMode; label: string }[] = [
  { mode: "ask", label: "Ask a question" },
  { mode: "query", label: "Write a query" },
];

export default function ModeToggle({ mode, onChange }: { mode: ChatMode; onChange: (mode: ChatMode) => void }) {
  return (
    <fieldset className="flex w-fit rounded border border-slate-300 text-sm">
      <legend className="sr-only">How to ask</legend>
      {MODES.map((m) => (
        <label
          key={m.mode}
          className={`cursor-pointer px-3 py-1.5 first-of-type:rounded-l last-of-type:rounded-r has-[:focus-visible]:ring-2 ${
            mode === m.mode ? "bg-blue-700 text-white" : "bg-white text-slate-800 hover:bg-slate-100"
          }`}
        >
          <input
            type="radio"
            name="chat-mode"
            value={m.mode}
            checked={mode === m.mode}
            onChange={() => onChange(m.mode)}
            className="sr-only"
          />
          {m.label}
        </label>
      ))}
    </fieldset>
  );
}
