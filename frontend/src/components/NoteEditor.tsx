// The owner's note on a connection, a table or collection, or a column: shown, added, edited and
// deleted in place. A saved note goes into that object's search chunk and into the prompt.
import { useId, useState } from "react";
import { ApiError } from "../api";
import { useSaveNote } from "../lib/queries";
import { Alert, Button } from "./ui";

export const NOTE_MAX_CHARS = 2000;

export default function NoteEditor({
  connectionId,
  objectName = "",
  columnName = "",
  note,
  target,
  compact = false,
}: {
  connectionId: string;
  objectName?: string;
  columnName?: string;
  note: string | null;
  /** What the note is on, for labels: "public.payment", "public.payment.amount", "this database". */
  target: string;
  compact?: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note ?? "");
  const [error, setError] = useState<string | null>(null);
  const save = useSaveNote();
  const id = useId();

  async function store(value: string) {
    setError(null);
    try {
      await save.mutateAsync({
        connectionId,
        note: { object_name: objectName, column_name: columnName, text: value },
      });
      setEditing(false);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not save the note.");
    }
  }

  if (!editing) {
    return (
      <div className={compact ? "text-xs" : "text-sm"}>
        {note && (
          <p className="whitespace-pre-wrap text-slate-700" data-testid="note">
            <span className="font-medium">Note: </span>
            {note}
          </p>
        )}
        <button
          type="button"
          className="text-xs text-blue-700 underline"
          aria-label={`${note ? "Edit note" : "Add note"} on ${target}`}
          onClick={() => {
            setText(note ?? "");
            setEditing(true);
          }}
        >
          {note ? "Edit note" : "Add note"}
        </button>
      </div>
    );
  }
  return (
    <div className="flex min-w-56 flex-col gap-1">
      <label htmlFor={id} className="text-xs font-medium text-slate-700">
        Note on {target}
      </label>
      <textarea
        id={id}
        className="rounded border border-slate-300 px-2 py-1 text-sm"
        rows={3}
        maxLength={NOTE_MAX_CHARS}
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        placeholder="What this means, e.g. revenue means sum(amount), refunds excluded"
      />
      <div className="flex flex-wrap gap-2">
        <Button onClick={() => store(text)} disabled={save.isPending || !text.trim()}>
          Save note
        </Button>
        {note && (
          <Button variant="secondary" onClick={() => store("")} disabled={save.isPending}>
            Delete note
          </Button>
        )}
        <Button variant="secondary" onClick={() => setEditing(false)} disabled={save.isPending}>
          Cancel
        </Button>
      </div>
      {error && <Alert>{error}</Alert>}
    </div>
  );
}
