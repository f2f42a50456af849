// The verified examples of one connection: list, add, edit, delete, import (a JSONL or CSV file,
// or pasted text) and export. Every query is checked and run read-only before it is kept.
import { useId, useState, type ChangeEvent, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import type { Example, ExampleFormat, ExampleImport } from "../api";
import { useAuth } from "../auth";
import SaveExample from "../components/SaveExample";
import { Alert, Button, SelectField } from "../components/ui";
import { formatOf, MAX_IMPORT_BYTES } from "../lib/examples";
import { errorText, useConnections, useDeleteExample, useExamples, useImportExamples } from "../lib/queries";

const SOURCE_LABEL: Record<Example["source"], string> = {
  feedback: "saved from an answer",
  manual: "added by hand",
  import: "imported",
};

function ImportForm({ connectionId }: { connectionId: string }) {
  const [format, setFormat] = useState<ExampleFormat>("jsonl");
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [result, setResult] = useState<ExampleImport | null>(null);
  const mutation = useImportExamples();
  const fileId = useId();
  const pasteId = useId();

  const readFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    setProblem(null);
    setResult(null);
    if (!file) return;
    if (file.size > MAX_IMPORT_BYTES) {
      setProblem(`The file is larger than ${MAX_IMPORT_BYTES / 1_000_000} MB; split it.`);
      return;
    }
    setFormat(formatOf(file.name));
    setFileName(file.name);
    file.text().then(setContent, () => setProblem("The file could not be read."));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!content.trim()) return;
    setResult(null);
    mutation.mutate({ connectionId, format, content }, { onSuccess: setResult });
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-2" aria-label="Import examples">
      <h2 className="text-lg font-semibold">Import</h2>
      <p className="text-xs text-slate-600">
        JSON Lines: one <code>{'{"question": "…", "query": "…"}'}</code> per line. CSV: the header{" "}
        <code>question,query</code>. Each query is checked and run read-only; questions already here are skipped.
      </p>
      <label htmlFor={fileId} className="text-sm font-medium text-slate-700">
        File
      </label>
      <input id={fileId} type="file" accept=".jsonl,.json,.ndjson,.csv,.txt" onChange={readFile} className="text-sm" />
      <label htmlFor={pasteId} className="text-sm font-medium text-slate-700">
        {fileName ? `Contents of ${fileName}` : "Or paste the examples"}
      </label>
      <textarea
        id={pasteId}
        rows={4}
        value={content}
        onChange={(e) => {
          setContent(e.target.value);
          setFileName(null);
        }}
        className="rounded border border-slate-300 bg-white px-3 py-2 font-mono text-xs text-slate-900"
      />
      <div className="flex flex-wrap items-end gap-2">
        <SelectField label="Format" value={format} onChange={(e) => setFormat(e.target.value as ExampleFormat)}>
          <option value="jsonl">JSON Lines</option>
          <option value="csv">CSV</option>
        </SelectField>
        <Button type="submit" disabled={mutation.isPending || !content.trim()}>
          {mutation.isPending ? "Importing…" : "Import"}
        </Button>
      </div>
      {problem && <Alert>{problem}</Alert>}
      {mutation.isError && <Alert>{errorText(mutation.error, "The import failed.")}</Alert>}
      {result && (
        <div className="flex flex-col gap-2" data-testid="import-result">
          <Alert kind={result.refused.length ? "warning" : "success"}>
            Imported {result.imported}, skipped {result.skipped} already here, refused {result.refused.length}.
          </Alert>
          {result.refused.length > 0 && (
            <ul className="flex flex-col gap-1 text-sm" aria-label="Refused lines">
              {result.refused.map((r) => (
                <li key={r.line} className="break-words">
                  <span className="font-medium">Line {r.line}</span>
                  {r.question ? ` (${r.question})` : ""}: {r.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}

function ExampleItem({
  example,
  connectionId,
  language,
}: {
  example: Example;
  connectionId: string;
  language: "sql" | "mongo";
}) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const remove = useDeleteExample();
  if (editing) {
    return (
      <li>
        <SaveExample
          connectionId={connectionId}
          language={language}
          question={example.question}
          query={example.query}
          exampleId={example.id}
          title="Edit the example"
          linkAfterSave={false}
          onSaved={() => setEditing(false)}
          onClose={() => setEditing(false)}
        />
      </li>
    );
  }
  return (
    <li className="flex flex-col gap-1 rounded border border-slate-200 bg-white p-3" data-testid="example">
      <p className="font-medium break-words">{example.question}</p>
      <pre className="overflow-x-auto rounded bg-slate-100 p-2 text-xs whitespace-pre-wrap text-slate-900">
        {example.query}
      </pre>
      <p className="text-xs text-slate-600">
        Reads {example.used_objects.join(", ") || "nothing"} · {SOURCE_LABEL[example.source]}
        {example.verified_by_email ? ` · verified by ${example.verified_by_email}` : ""} ·{" "}
        {new Date(example.verified_at).toLocaleString()}
      </p>
      <div className="flex flex-wrap items-center gap-2">
        {!confirming ? (
          <>
            <Button variant="secondary" onClick={() => setEditing(true)}>
              Edit
            </Button>
            <Button variant="secondary" onClick={() => setConfirming(true)}>
              Delete
            </Button>
          </>
        ) : (
          <>
            <span className="text-sm">Delete this example?</span>
            <Button
              variant="danger"
              disabled={remove.isPending}
              onClick={() => remove.mutate({ connectionId, id: example.id })}
            >
              Delete it
            </Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </Button>
          </>
        )}
      </div>
      {remove.isError && <Alert>{errorText(remove.error, "The example could not be deleted.")}</Alert>}
    </li>
  );
}

export default function ExamplesPage() {
  const { id = "" } = useParams();
  const { api } = useAuth();
  const connections = useConnections();
  const examples = useExamples(id);
  const [adding, setAdding] = useState(false);
  const connection = connections.data?.find((c) => c.id === id);
  const language = connection?.kind === "mongodb" ? "mongo" : "sql";
  const list = examples.data ?? [];
  const error = errorText(examples.error, "Could not load the examples.");

  return (
    <div className="flex min-w-0 flex-col gap-4">
      <p className="text-sm">
        <Link className="text-blue-700 underline" to="/connections">
          Connections
        </Link>
      </p>
      <h1 className="text-2xl font-semibold break-words">
        Verified examples{connection ? ` of ${connection.name}` : ""}
      </h1>
      <p className="text-sm text-slate-600">
        Questions with the query that answers them, checked and run read-only before they were kept. Export them to keep
        or share; import a file to add many at once.
      </p>
      {error && <Alert>{error}</Alert>}
      <div className="flex flex-wrap items-center gap-3 text-sm">
        {!adding && <Button onClick={() => setAdding(true)}>Add an example</Button>}
        <a className="text-blue-700 underline" href={api.examplesExportUrl(id, "jsonl")} download>
          Export JSON Lines
        </a>
        <a className="text-blue-700 underline" href={api.examplesExportUrl(id, "csv")} download>
          Export CSV
        </a>
      </div>
      {adding && (
        <SaveExample
          connectionId={id}
          language={language}
          question=""
          query=""
          title="Add an example"
          linkAfterSave={false}
          onSaved={() => setAdding(false)}
          onClose={() => setAdding(false)}
        />
      )}
      <section aria-label="Examples" className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">{list.length === 1 ? "1 example" : `${list.length} examples`}</h2>
        {examples.isSuccess && list.length === 0 && (
          <p className="text-sm text-slate-600">
            None yet. Give an answer a thumbs up in Chat and save it, or add one here.
          </p>
        )}
        <ul className="flex flex-col gap-2">
          {list.map((e) => (
            <ExampleItem key={e.id} example={e} connectionId={id} language={language} />
          ))}
        </ul>
      </section>
      <ImportForm connectionId={id} />
    </div>
  );
}
