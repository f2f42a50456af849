import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { ApiError, type HistoryItem } from "../api";
import { useAuth } from "../auth";
import AnswerTurn, { emptyTurn, fromHistory, fromRun, LLM_DOWN, taught, type Turn } from "../components/AnswerTurn";
import HistoryPanel from "../components/HistoryPanel";
import ModeToggle, { type ChatMode } from "../components/ModeToggle";
import { EditorWithRun } from "../components/QueryBox";
import Suggestions from "../components/Suggestions";
import { Alert, Button, SelectField } from "../components/ui";
import {
  conversationQuery,
  errorText,
  keys,
  useConnections,
  useHealth,
  useInvalidate,
  useSettings,
} from "../lib/queries";

export default function ChatPage() {
  const { api } = useAuth();
  const [params, setParams] = useSearchParams();
  const queryClient = useQueryClient();
  const invalidate = useInvalidate();
  const connectionsQuery = useConnections();
  const connections = useMemo(() => (connectionsQuery.data ?? []).filter((c) => c.indexed_at), [connectionsQuery.data]);
  // The connection chosen, else the one in the URL, else the first indexed one.
  const [chosen, setConnectionId] = useState(params.get("connection") ?? "");
  const connectionId = chosen || connections[0]?.id || "";
  const [conversationId, setConversationId] = useState<string | null>(params.get("conversation"));
  const [turns, setTurns] = useState<Turn[]>([]);
  // "Ask about <table>" links from the schema browser arrive with the question in `q`.
  const [question, setQuestion] = useState(params.get("q") ?? "");
  const [notice, setNotice] = useState<string | null>(null);
  const lastTurn = useRef<HTMLElement | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const [failed, setError] = useState<string | null>(null);
  const error = failed ?? errorText(connectionsQuery.error, "Could not load connections.");
  // Unreachable by the health check, or found so by a question.
  const [llmFailed, setLlmDown] = useState(false);
  const health = useHealth();
  const llmDown = llmFailed || (health.data?.components.llm ?? "ok") !== "ok";
  const exportCap = useSettings().data?.export_max_rows ?? 1_000_000;
  // "Ask a question" (the model writes the query) or "Write a query" (runs as typed; no model).
  const [mode, setMode] = useState<ChatMode>(params.get("mode") === "query" ? "query" : "ask");
  const connection = connections.find((c) => c.id === connectionId);

  useEffect(() => {
    if (!conversationId) return;
    queryClient
      .fetchQuery(conversationQuery(api, conversationId))
      .then((h) => setTurns((current) => (current.length ? current : [...h.items].reverse().map(fromHistory))))
      .catch(() => undefined);
  }, [api, queryClient, conversationId]);

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
    await send(question, false);
  }

  /** Asks ``question``; ``fresh`` ("Run again" on a cached answer): anew, skipping the answer
   * cache, as the first question of a new conversation (only first questions are cached). */
  async function send(question: string, fresh: boolean) {
    if (!connectionId) return;
    const index = fresh ? 0 : turns.length;
    const update = (patch: Partial<Turn> | ((t: Turn) => Partial<Turn>)) =>
      setTurns((all) =>
        all.map((t, i) => (i === index ? { ...t, ...(typeof patch === "function" ? patch(t) : patch) } : t)),
      );
    const first = emptyTurn(question, "asked", connectionId);
    setTurns((all) => (fresh ? [first] : [...all, first]));
    const inConversation = fresh ? undefined : (conversationId ?? undefined);
    const controller = new AbortController();
    abort.current = controller;
    if (!fresh) setQuestion("");
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await api.ask(
        { connection_id: connectionId, question, conversation_id: inConversation, fresh },
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
              cachedAt: result.cached_at ?? null,
              ...taught(result),
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
      invalidate(keys.history); // the History list, the Dashboard's, and this conversation's turns
      lastTurn.current?.focus(); // a screen reader or keyboard user lands on the answer
    }
  }

  /** Runs a person's query (edited from an answer, or typed) and shows it as a new turn. */
  async function runQuery(query: string, editedFrom: string | null, runOn: string) {
    const index = turns.length;
    const from = editedFrom ? turns.find((t) => t.historyId === editedFrom) : undefined;
    const label = from?.question ?? query;
    const pending = { ...emptyTurn(label, editedFrom ? "edited" : "typed", runOn), query, step: "execute" as const };
    setTurns((all) => [...all, pending]);
    setError(null);
    setNotice(null);
    try {
      const result = await api.runQuery({
        connection_id: runOn,
        query,
        conversation_id: conversationId ?? undefined,
        edited_from: editedFrom ?? undefined,
      });
      setTurns((all) => all.map((t, i) => (i === index ? fromRun(result, label, runOn) : t)));
      setConversationId(result.conversation_id);
      setParams({ conversation: result.conversation_id, connection: runOn }, { replace: true });
    } catch (err) {
      const message = err instanceof ApiError ? err.message : "The query could not be run.";
      setTurns((all) => all.map((t, i) => (i === index ? { ...t, done: true, error: message } : t)));
    } finally {
      invalidate(keys.history); // the History list, the Dashboard's, and this conversation's turns
      lastTurn.current?.focus();
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
            tables look relevant, and you can{" "}
            <button type="button" className="font-medium underline" onClick={() => setMode("query")}>
              write a query yourself
            </button>
            , which runs without the model, read-only. Check that the LLM server (Ollama, or the OpenAI-compatible
            server) is running and has the model from Settings.
          </Alert>
        )}
        {error && <Alert>{error}</Alert>}
        {notice && <Alert kind="info">{notice}</Alert>}
        {connections.length === 0 && (
          <Alert kind="info">Add a connection and wait for its indexing to finish before asking.</Alert>
        )}
        {turns.length === 0 && mode === "ask" && connectionId && !conversationId && (
          <Suggestions
            connectionId={connectionId}
            onPick={(q) => {
              setQuestion(q);
              document.getElementById("question")?.focus();
            }}
          />
        )}
        {turns.map((t, i) => (
          <AnswerTurn
            key={i}
            turn={t}
            exportCap={exportCap}
            ref={i === turns.length - 1 ? lastTurn : undefined}
            onRun={(query, editedFrom, runOn) => runQuery(query, editedFrom, runOn)}
            onRunAgain={busy ? undefined : () => send(t.question, true)}
          />
        ))}
        <form
          onSubmit={ask}
          aria-label={mode === "ask" ? "Ask a question" : "Write a query"}
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
          <ModeToggle mode={mode} onChange={setMode} />
          {mode === "ask" ? (
            <>
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
            </>
          ) : (
            <EditorWithRun
              key={connectionId}
              initial=""
              language={connection?.kind === "mongodb" ? "mongo" : "sql"}
              connectionId={connectionId}
              label="Write a query"
              busy={turns.some((t) => !t.done)}
              onRun={(query) => runQuery(query, null, connectionId)}
            />
          )}
        </form>
      </section>
      <HistoryPanel onOpen={openConversation} onNew={newConversation} />
    </div>
  );
}
