import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, type Connection, type Kind, type SyncMode, type SyncStatus } from "../api";
import { Link } from "react-router-dom";
import { useAuth } from "../auth";
import { Alert, Button, Field, ProgressBar, SelectField, StatusBadge } from "../components/ui";
import {
  errorText,
  isActive,
  useConnections,
  useCreateConnection,
  useDeleteConnection,
  useInvalidate,
  keys,
  useSync,
  useSyncStatus,
  useSchema,
  useUpdateConnection,
} from "../lib/queries";
import SchemaBrowser from "../components/SchemaBrowser";

export { sampleColumns } from "../components/SchemaBrowser";

const PLACEHOLDER: Record<Kind, string> = {
  postgres: "postgresql://user:password@host:5432/database",
  mongodb: "mongodb://user:password@host:27017/database",
};

function AddConnection() {
  const { api } = useAuth();
  const create = useCreateConnection();
  const [kind, setKind] = useState<Kind>("postgres");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [test, setTest] = useState<{ ok: boolean; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function runTest() {
    setBusy(true);
    setTest(null);
    setError(null);
    try {
      const result = await api.testConnection(kind, url);
      setTest(
        result.ok
          ? { ok: true, text: `Connected: server version ${result.server_version}` }
          : { ok: false, text: result.error ?? "Failed" },
      );
    } catch (err) {
      setTest({ ok: false, text: err instanceof ApiError ? err.message : "The test failed." });
    } finally {
      setBusy(false);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setTest(null); // a test result from before would sit under this attempt's error
    try {
      await create.mutateAsync({ name, kind, url });
      setName("");
      setUrl("");
      setTest(null);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not add the connection.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      onSubmit={submit}
      aria-label="Add a connection"
      className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4"
    >
      <h2 className="font-medium">Add a connection</h2>
      {error && <Alert>{error}</Alert>}
      <div className="grid grid-cols-1 gap-3 md:grid-cols-4">
        <SelectField
          label="Kind"
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as Kind);
            setTest(null);
          }}
        >
          <option value="postgres">PostgreSQL</option>
          <option value="mongodb">MongoDB</option>
        </SelectField>
        <Field label="Name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="sales" />
        <div className="md:col-span-2">
          <Field
            label="Connection URL"
            required
            value={url}
            onChange={(e) => {
              setUrl(e.target.value);
              setTest(null);
            }}
            placeholder={PLACEHOLDER[kind]}
            hint="Stored encrypted; shown afterwards with the password hidden. A read-only database user is best."
          />
        </div>
      </div>
      {test && <Alert kind={test.ok ? "success" : "error"}>{test.text}</Alert>}
      <div className="flex gap-2">
        <Button variant="secondary" onClick={runTest} disabled={busy || !url}>
          Test
        </Button>
        <Button type="submit" disabled={busy || !url || !name}>
          Add and index
        </Button>
      </div>
    </form>
  );
}

function ConnectionCard({ connection, onChanged }: { connection: Connection; onChanged: () => void }) {
  const statusQuery = useSyncStatus(connection.id);
  const status = statusQuery.data ?? null;
  const sync = useSync();
  const update = useUpdateConnection();
  const del = useDeleteConnection();
  const [showSchema, setShowSchema] = useState(false);
  const schemaQuery = useSchema(connection.id, showSchema);
  const schema = showSchema ? (schemaQuery.data ?? null) : null;
  const [failed, setError] = useState<string | null>(null);
  const error =
    failed ??
    errorText(statusQuery.error, "Could not read the indexing status.") ??
    (showSchema ? errorText(schemaQuery.error, "Could not load the schema.") : null);
  const [confirming, setConfirming] = useState(false);
  // A job started from this card: when it ends, the connection (index time, last check) is reloaded.
  const started = useRef(false);

  // The status is polled while the job runs (useSyncStatus); when it has ended, the connection is
  // reloaded if this card started the job or its first index has just finished.
  useEffect(() => {
    if (!status || status.status === "pending" || status.status === "running") return;
    if (started.current || (status.status === "succeeded" && connection.status !== "succeeded")) {
      started.current = false;
      onChanged();
    }
  }, [status, connection.status, onChanged]);

  async function resync(mode: SyncMode) {
    setError(null);
    try {
      started.current = true;
      await sync.mutateAsync({ id: connection.id, mode });
    } catch (err) {
      started.current = false;
      setError(err instanceof ApiError ? err.message : "Could not start a re-sync.");
    }
  }

  async function schedule(value: string) {
    setError(null);
    try {
      await update.mutateAsync({
        id: connection.id,
        patch: { reindex_interval_minutes: value ? Number(value) : null },
      });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not change the schedule.");
    }
  }

  async function setAnswerCache(on: boolean) {
    setError(null);
    try {
      await update.mutateAsync({ id: connection.id, patch: { answer_cache: on } });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not change the answer cache.");
    }
  }

  function toggleSchema() {
    setShowSchema((shown) => !shown);
  }

  async function remove() {
    try {
      await del.mutateAsync(connection.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not delete the connection.");
    }
  }

  const active = isActive(status);
  return (
    <article
      aria-label={`Connection ${connection.name}`}
      className="flex flex-col gap-2 rounded border border-slate-200 bg-white p-4"
    >
      <div className="flex flex-wrap items-center gap-3">
        <h3 className="font-medium">{connection.name}</h3>
        <span className="text-xs text-slate-500">
          {connection.kind === "postgres" ? "PostgreSQL" : "MongoDB"} {connection.server_version ?? ""}
        </span>
        <StatusBadge status={status?.status ?? connection.status} />
        {active && (
          <ProgressBar
            label={`Indexing ${connection.name}`}
            done={status.progress.done}
            total={status.progress.total}
          />
        )}
        <div className="ml-auto flex gap-2">
          <Button
            variant="secondary"
            onClick={toggleSchema}
            disabled={!connection.indexed_at && status?.status !== "succeeded"}
          >
            {showSchema ? "Hide schema" : "Schema"}
          </Button>
          <Button
            variant="secondary"
            onClick={() => resync("check")}
            disabled={!!active || !connection.indexed_at}
            title="Compare the database's catalog with the index; re-index only if it changed"
          >
            Check for changes
          </Button>
          <Button variant="secondary" onClick={() => resync("full")} disabled={!!active}>
            Re-sync
          </Button>
          {confirming ? (
            <>
              <Button variant="danger" onClick={remove}>
                Delete {connection.name}
              </Button>
              <Button variant="secondary" onClick={() => setConfirming(false)}>
                Cancel
              </Button>
            </>
          ) : (
            <Button variant="secondary" onClick={() => setConfirming(true)}>
              Delete
            </Button>
          )}
        </div>
      </div>
      <p className="mono break-all text-xs text-slate-500">{connection.url}</p>
      <JobProblem status={status} />
      {status?.status === "succeeded" &&
        (status.counts.embedded === undefined ? (
          <p className="text-xs text-slate-600">
            The catalog is unchanged: the index of {count(status.counts.objects)} tables or collections was kept.
          </p>
        ) : (
          <p className="text-xs text-slate-600">
            Indexed {count(status.counts.objects)} tables or collections ({count(status.counts.embedded)} embedded,{" "}
            {count(status.counts.reused)} unchanged).
          </p>
        ))}
      {connection.indexed_at && (
        <Link
          className="self-start rounded bg-blue-700 px-3 py-1 text-sm text-white hover:bg-blue-800"
          to={`/chat?${new URLSearchParams({ connection: connection.id })}`}
        >
          Ask about {connection.name}
        </Link>
      )}
      {connection.indexed_at && (
        <div className="flex flex-wrap gap-4 text-sm">
          <Link className="text-blue-700 underline" to={`/connections/${connection.id}/map`}>
            Schema map
          </Link>
          <Link className="text-blue-700 underline" to={`/connections/${connection.id}/examples`}>
            Verified examples
          </Link>
        </div>
      )}
      {connection.indexed_at && (
        <Link className="self-start text-sm text-blue-700 underline" to={`/connections/${connection.id}/evaluate`}>
          Evaluate models
        </Link>
      )}
      <Freshness connection={connection} onSchedule={schedule} />
      <AnswerCacheSwitch connection={connection} onChange={setAnswerCache} />
      {error && <Alert>{error}</Alert>}
      {schema && <SchemaBrowser schema={schema} connectionId={connection.id} />}
    </article>
  );
}

/** The connection's answer-cache switch (``options.answer_cache``, on unless turned off). */
export function AnswerCacheSwitch({
  connection,
  onChange,
}: {
  connection: Connection;
  onChange: (on: boolean) => void;
}) {
  const id = `answer-cache-${connection.id}`;
  const on = connection.options.answer_cache !== false;
  return (
    <div className="flex items-center gap-2 text-xs text-slate-600">
      <input id={id} type="checkbox" checked={on} onChange={(event) => onChange(event.target.checked)} />
      <label htmlFor={id}>
        Answer cache: repeat a first question&apos;s answer without asking the model again (when the server has Redis)
      </label>
    </div>
  );
}

// Offered check intervals, in minutes ("" is off); the API accepts any value from 5 to 10080.
const INTERVALS: [string, string][] = [
  ["", "Off"],
  ["15", "Every 15 minutes"],
  ["60", "Every hour"],
  ["360", "Every 6 hours"],
  ["1440", "Every day"],
  ["10080", "Every week"],
];

/** When the index was built and last checked, what the check found, and the check schedule. */
export function Freshness({
  connection,
  onSchedule,
}: {
  connection: Connection;
  onSchedule: (minutes: string) => void;
}) {
  const interval = connection.reindex_interval_minutes;
  const options = INTERVALS.some(([value]) => value === String(interval ?? ""))
    ? INTERVALS
    : [...INTERVALS, [String(interval), `Every ${interval} minutes`] as [string, string]];
  const at = (value: string) => new Date(value).toLocaleString();
  const built = connection.indexed_at ? at(connection.indexed_at) : null;
  const checked = connection.checked_at ? at(connection.checked_at) : null;
  let text = "Not indexed yet.";
  if (built && connection.last_check === null) text = `Index built ${built}; not checked for changes since.`;
  if (built && connection.last_check === "unchanged")
    text = `Index built ${built}; last checked ${checked}: the schema is unchanged.`;
  if (built && connection.last_check === "changed")
    text = `Index rebuilt ${built} because the schema had changed (checked ${checked}).`;
  return (
    <div className="flex flex-wrap items-end gap-3 text-xs text-slate-600">
      <p role="note" aria-label="Index freshness">
        {text}
      </p>
      <div className="ml-auto w-48">
        <SelectField
          label="Check for changes"
          value={String(interval ?? "")}
          onChange={(event) => onSchedule(event.target.value)}
        >
          {options.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
      </div>
    </div>
  );
}

export default function ConnectionsPage() {
  const connectionsQuery = useConnections();
  const connections = connectionsQuery.data ?? [];
  const error = errorText(connectionsQuery.error, "Could not load connections.");
  const invalidate = useInvalidate();
  const reload = useCallback(() => invalidate(keys.connections, keys.admin), [invalidate]);

  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Connections</h1>
      {error && <Alert>{error}</Alert>}
      <AddConnection />
      {connections.map((c) => (
        <ConnectionCard key={c.id} connection={c} onChanged={reload} />
      ))}
    </div>
  );
}

/** A job's count: the schema types `counts` as a dict of anything. */
function count(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

/** A failed job's reason, or why a job queued again waits (a service down, a worker lost). */
export function JobProblem({ status }: { status: SyncStatus | null }) {
  if (status?.status === "failed") return <Alert>Indexing failed: {status.error}</Alert>;
  if (status?.status === "pending" && status.error)
    return <p className="text-xs text-amber-700">{status.error}; it will start again shortly.</p>;
  if (status?.status === "pending" && status.waiting_for_worker)
    return (
      <p className="text-xs text-amber-700">
        Waiting for an indexing worker: every worker is busy, or none is running (ask your administrator).
      </p>
    );
  return null;
}
