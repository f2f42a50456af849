import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { ApiError, type Cell, type Connection, type HistoryItem, type ErrorCode, type Source, type Step } from "../api";
import { useAuth } from "../auth";
import AnswerText from "../components/AnswerText";
import Chart from "../components/Chart";
import ResultTable from "../components/ResultTable";
import SchemaMapLink from "../components/SchemaMapLink";
import { Alert, Button, SelectField } from "../components/ui";
import { chartFor } from "../lib/chart";
import { copyText } from "../lib/clipboard";

interface Turn {
  question: string;
  answer: string;
  query: string | null;
  language: string;
  columns: string[];
  rows: Cell[][];
  truncated: boolean;
  truncation?: string | null;
  executed: boolean;
  sources: Source[];
  timings: Partial<Record<Step, number>>;
  error: string | null;
  done: boolean;
  /** The step under way while the answer streams, and when the question was sent (ms). */
  step: Step | null;
  startedAt: number;
  /** The history entry, once recorded: the full export runs its query again. */
  historyId: string | null;
}

// Error codes that mean the language model cannot answer at all (the banner says so).
const LLM_DOWN = new Set<ErrorCode>(["llm_unavailable", "model_missing", "llm_timeout"]);

// Every step, in the order they run; the Record type makes the compiler check the list against the backend's.
const STEP_SEEN: Record<Step, true> = { retrieve: true, generate: true, validate: true, execute: true, answer: true };
const STEP_NAMES = Object.keys(STEP_SEEN) as Step[];

function emptyTurn(question: string): Turn {
  return { question, answer: "", query: null, language: "sql", columns: [], rows: [], truncated: false, executed: false,
           sources: [], timings: {}, error: null, done: false, step: null, startedAt: Date.now(), historyId: null }; // prettier-ignore
}

/** A stored turn shown as it was first shown: the history keeps the rows (a preview of a long result). */
export function fromHistory(item: HistoryItem): Turn {
  const kept = item.row_count !== null && item.rows.length < item.row_count;
  return {
    question: item.question,
    answer: item.answer ?? "",
    query: item.query,
    language: item.language ?? "sql",
    columns: item.columns,
    rows: item.rows,
    truncated: item.truncated || kept,
    truncation: kept
      ? `The history keeps the first ${item.rows.length} of ${item.row_count} rows; run the query again for all of them.`
      : item.truncation,
    executed: item.executed,
    sources: item.sources,
    timings: item.timings,
    error: item.error,
    done: true,
    step: null,
    startedAt: 0,
    historyId: item.id,
  };
}

// What each step is doing, for the progress line while a question runs.
const STEP_LABEL: Record<Step, string> = {
  retrieve: "Finding the relevant tables",
  generate: "The model is writing the query",
  validate: "Checking the query is read-only",
  execute: "Running the query on the database",
  answer: "The model is writing the answer",
};

/** The step under way and the seconds since the question was sent, ticking. */
export function Progress({ step, startedAt }: { step: Step | null; startedAt: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 200);
    return () => window.clearInterval(timer);
  }, []);
  const index = step ? STEP_NAMES.indexOf(step) + 1 : 0;
  return (
    <p className="text-sm text-slate-600" role="status" data-testid="progress">
      {step ? `Step ${index} of ${STEP_NAMES.length}: ${STEP_LABEL[step]}…` : "Sending the question…"}{" "}
      <span className="tabular-nums">{((now - startedAt) / 1000).toFixed(1)} s</span>
    </p>
  );
}

/** Sources split by the parsed query: what it read, then what retrieval offered besides. */
export function Provenance({ sources }: { sources: Source[] }) {
  if (sources.length === 0) return null;
  const used = sources.filter((s) => s.used);
  const others = sources.filter((s) => !s.used);
  const name = (s: Source) => s.object + (s.via === "search" || s.via === "query" ? "" : ` (${s.via})`);
  return (
    <div className="text-xs text-slate-600" data-testid="sources">
      {used.length > 0 && (
        <p>
          <span className="font-medium">Used by the query:</span> {used.map(name).join(", ")}
        </p>
      )}
      {others.length > 0 && (
        <p>
          <span className="font-medium">{used.length > 0 ? "Also retrieved:" : "Retrieved:"}</span>{" "}
          {others.map(name).join(", ")}
        </p>
      )}
      <SchemaMapLink sources={used} />
    </div>
  );
}

function TurnView({ turn, exportCap, ref }: { turn: Turn; exportCap: number; ref?: React.Ref<HTMLElement> }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const chart = useMemo(() => chartFor(turn.columns, turn.rows), [turn.columns, turn.rows]);
  return (
    <article
      ref={ref}
      tabIndex={-1}
      className="flex min-w-0 flex-col gap-2 rounded border border-slate-200 bg-white p-4 outline-none focus-visible:ring-2"
      aria-label={`Question: ${turn.question}`}
    >
      <p className="font-medium">{turn.question}</p>
      {turn.answer ? <AnswerText text={turn.answer} /> : null}
      {!turn.done && <Progress step={turn.step} startedAt={turn.startedAt} />}
      {/* Said once: an answer from before the answers stopped repeating the error does not get it twice. */}
      {turn.error && !turn.answer.includes(turn.error) && <Alert kind="warning">{turn.error}</Alert>}
      {turn.query && (
        <div>
          <div className="flex items-center gap-2">
            <span className="text-xs font-medium text-slate-600">
              {turn.language === "mongo" ? "Pipeline" : "SQL"} {turn.executed ? "that ran" : "(not run)"}
            </span>
            <Button
              variant="secondary"
              onClick={() => copyText(turn.query ?? "").then((ok) => setCopied(ok ? "yes" : "no"))}
            >
              {copied === "yes" ? "Copied" : "Copy query"}
            </Button>
          </div>
          {copied === "no" && (
            <p className="text-xs text-slate-600">This browser refused to copy: select the query and copy it.</p>
          )}
          <pre
            className="mono mt-1 whitespace-pre-wrap break-words rounded bg-slate-900 p-2 text-xs text-slate-100"
            data-testid="query"
          >
            {turn.query}
          </pre>
        </div>
      )}
      {turn.columns.length > 0 && (
        <ResultTable columns={turn.columns} rows={turn.rows} truncated={turn.truncated} truncation={turn.truncation} />
      )}
      {turn.executed && turn.historyId && turn.done && (
        <p className="text-xs">
          <a
            className="text-blue-700 underline"
            href={`/api/history/${turn.historyId}/export.csv`}
            download
            title="Runs the query again, read-only, and streams every row"
          >
            Download the whole result (CSV)
          </a>{" "}
          <span className="text-slate-500">
            up to {exportCap.toLocaleString()} rows; a cut is said on the file&apos;s last line
          </span>
        </p>
      )}
      {chart && <Chart spec={chart} />}
      <Provenance sources={turn.sources} />
      {Object.keys(turn.timings).length > 0 && (
        <p className="text-xs text-slate-500" data-testid="timings">
          {STEP_NAMES.filter((s) => s in turn.timings)
            .map((s) => `${s} ${Math.round(turn.timings[s] ?? 0)} ms`)
            .join(" · ")}
        </p>
      )}
    </article>
  );
}

export default function ChatPage() {
  const { api } = useAuth();
  const [params, setParams] = useSearchParams();
  const [connections, setConnections] = useState<Connection[]>([]);
  const [connectionId, setConnectionId] = useState(params.get("connection") ?? "");
  const [conversationId, setConversationId] = useState<string | null>(params.get("conversation"));
  const [turns, setTurns] = useState<Turn[]>([]);
  const [history, setHistory] = useState<HistoryItem[]>([]);
  // "Ask about <table>" links from the schema browser arrive with the question in `q`.
  const [question, setQuestion] = useState(params.get("q") ?? "");
  const [notice, setNotice] = useState<string | null>(null);
  const lastTurn = useRef<HTMLElement | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [llmDown, setLlmDown] = useState(false);
  const [exportCap, setExportCap] = useState(1_000_000);

  const loadHistory = useCallback(() => {
    api
      .history({ limit: 50, rows: false })
      .then((h) => setHistory(h.items))
      .catch(() => undefined);
  }, [api]);

  useEffect(() => {
    api
      .connections()
      .then((list) => {
        const ready = list.filter((c) => c.indexed_at);
        setConnections(ready);
        setConnectionId((current) => current || ready[0]?.id || "");
      })
      .catch((err) => setError(err instanceof ApiError ? err.message : "Could not load connections."));
    api
      .settings()
      .then((s) => setExportCap(s.export_max_rows))
      .catch(() => undefined);
    api
      .health()
      .then((h) => setLlmDown(h.components.llm !== "ok"))
      .catch(() => undefined);
    loadHistory();
  }, [api, loadHistory]);

  useEffect(() => {
    if (!conversationId) return;
    api
      .history({ conversation_id: conversationId, limit: 50 })
      .then((h) => setTurns((current) => (current.length ? current : [...h.items].reverse().map(fromHistory))))
      .catch(() => undefined);
  }, [api, conversationId]);

  function newConversation() {
    setConversationId(null);
    setTurns([]);
    setParams({});
  }

  function openConversation(item: HistoryItem) {
    setTurns([]);
    if (item.connection_id) setConnectionId(item.connection_id);
    setConversationId(item.conversation_id);
    setParams({ conversation: item.conversation_id, connection: item.connection_id ?? "" });
  }

  async function ask(event: FormEvent) {
    event.preventDefault();
    if (!question.trim() || !connectionId) return;
    const index = turns.length;
    const update = (patch: Partial<Turn> | ((t: Turn) => Partial<Turn>)) =>
      setTurns((all) =>
        all.map((t, i) => (i === index ? { ...t, ...(typeof patch === "function" ? patch(t) : patch) } : t)),
      );
    setTurns((all) => [...all, emptyTurn(question)]);
    const controller = new AbortController();
    abort.current = controller;
    setQuestion("");
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await api.ask(
        { connection_id: connectionId, question, conversation_id: conversationId ?? undefined },
        (event) => {
          if (event.event === "step") update({ step: event.step });
          else if (event.event === "sources") update({ sources: event.sources });
          else if (event.event === "query") update({ query: event.query, language: event.language });
          else if (event.event === "rows")
            update({
              columns: event.columns,
              rows: event.rows,
              truncated: event.truncated,
              truncation: event.truncation,
              executed: true,
            });
          else if (event.event === "token") update((t) => ({ answer: t.answer + event.text }));
          else if (event.event === "error") {
            update({ error: event.detail });
            if (LLM_DOWN.has(event.code)) setLlmDown(true);
          } else {
            const result = event.result;
            update({
              answer: result.answer,
              sources: result.sources, // now split into used by the query and also retrieved
              timings: result.timings,
              executed: result.executed,
              historyId: result.history_id ?? null,
              done: true,
            });
            setConversationId(result.conversation_id);
            // The conversation is in the URL: a reload or a shared link reopens it.
            setParams({ conversation: result.conversation_id, connection: connectionId }, { replace: true });
          }
        },
        controller.signal,
      );
    } catch (err) {
      if (controller.signal.aborted) {
        update({ done: true, error: "Cancelled: the question was stopped, and its query cancelled on the database." });
      } else {
        update({ done: true });
        setError(err instanceof ApiError ? err.message : "The question could not be asked.");
      }
    } finally {
      abort.current = null;
      setBusy(false);
      loadHistory();
      lastTurn.current?.focus(); // a screen reader or keyboard user lands on the answer
    }
  }

  // The chat comes first in the page (keyboard and phone); on wide screens History stands left of it.
  return (
    <div className="grid grid-cols-1 gap-4 lg:grid-cols-4">
      <section className="flex min-w-0 flex-col gap-4 lg:col-span-3">
        <h1 className="text-2xl font-semibold">Chat</h1>
        {llmDown && (
          <Alert kind="warning">
            The language model is unreachable, so questions can't be answered right now. Sextant still shows which
            tables look relevant. Check that Ollama is running and has the model from Settings.
          </Alert>
        )}
        {error && <Alert>{error}</Alert>}
        {notice && <Alert kind="info">{notice}</Alert>}
        {connections.length === 0 && (
          <Alert kind="info">Add a connection and wait for its indexing to finish before asking.</Alert>
        )}
        {turns.map((t, i) => (
          <TurnView key={i} turn={t} exportCap={exportCap} ref={i === turns.length - 1 ? lastTurn : undefined} />
        ))}
        <form
          onSubmit={ask}
          aria-label="Ask a question"
          className="flex flex-col gap-2 rounded border border-slate-200 bg-white p-4"
        >
          <SelectField
            label="Connection"
            value={connectionId}
            onChange={(e) => {
              const next = connections.find((c) => c.id === e.target.value);
              // A conversation belongs to one connection: switching starts a new one, and says so.
              if (turns.length && next)
                setNotice(`Switched to ${next.name}: a new conversation started; the previous one is in History.`);
              setConnectionId(e.target.value);
              newConversation();
            }}
          >
            {connections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </SelectField>
          <label htmlFor="question" className="text-sm font-medium text-slate-700">
            {turns.length ? "Follow-up question" : "Question"}
          </label>
          <textarea
            id="question"
            rows={2}
            autoFocus
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            className="rounded border border-slate-300 px-3 py-2 text-sm"
            placeholder="Which customers rented the most films last month?"
          />
          <div className="flex gap-2">
            <Button type="submit" disabled={busy || !question.trim() || !connectionId}>
              {busy ? "Asking…" : "Ask"}
            </Button>
            {busy && (
              <Button variant="secondary" onClick={() => abort.current?.abort()}>
                Cancel
              </Button>
            )}
          </div>
        </form>
      </section>
      <aside aria-label="History" className="order-last flex min-w-0 flex-col gap-2 lg:order-first lg:col-span-1">
        <Button variant="secondary" onClick={newConversation}>
          New conversation
        </Button>
        <h2 className="mt-2 text-sm font-medium text-slate-700">History</h2>
        <ul className="flex flex-col gap-1 text-sm">
          {history.map((h) => (
            <li key={h.id}>
              <button
                type="button"
                className="w-full truncate rounded px-2 py-1 text-left hover:bg-slate-200"
                onClick={() => openConversation(h)}
              >
                {h.question}
              </button>
            </li>
          ))}
        </ul>
      </aside>
    </div>
  );
}
