// One turn of a conversation as the Chat screen shows it: the question (or the person's own
// query), the answer, the query with "Edit and run", the rows, chart, provenance and timings.
import { useState, useEffect } from "react";
import type {
  Cell,
  ErrorCode,
  HistoryItem,
  NoteUsed,
  Origin,
  QueryResult,
  Source,
  Step,
  VerifiedExampleRef,
} from "../api";
import AnswerText from "./AnswerText";
import ChartPanel from "./ChartPanel";
import Feedback from "./Feedback";
import QueryBox from "./QueryBox";
import ResultTable from "./ResultTable";
import SchemaMapLink from "./SchemaMapLink";
import { Alert } from "./ui";

export interface Turn {
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
  /** Asked (the model wrote the query), edited from an earlier answer, or typed by the person. */
  origin: Origin;
  /** The connection the query ran on: "Edit and run" runs there. */
  connectionId: string | null;
  /** The chart chosen for it (absent or null: the automatic one). */
  chart?: HistoryItem["chart"];
  /** The owner's thumbs up or down and comment, as stored (absent or null: none). */
  feedbackRating?: HistoryItem["feedback_rating"];
  feedbackComment?: HistoryItem["feedback_comment"];
  /** What the owner taught that the answer used: the verified example whose query answered it
   * (no model), the examples and notes its prompt carried. */
  verifiedExample?: VerifiedExampleRef | null;
  examplesUsed?: VerifiedExampleRef[];
  notesUsed?: NoteUsed[];
  /** When the answer cache kept this answer (it was served without the model); absent or null: answered now. */
  cachedAt?: string | null;
}

// Error codes that mean the language model cannot answer at all (the banner says so).
export const LLM_DOWN = new Set<ErrorCode>(["llm_unavailable", "model_missing", "llm_timeout"]);

// Every step, in the order they run; the Record type makes the compiler check the list against the backend's.
const STEP_SEEN: Record<Step, true> = { retrieve: true, generate: true, validate: true, execute: true, answer: true };
const STEP_NAMES = Object.keys(STEP_SEEN) as Step[];

export function emptyTurn(question: string, origin: Origin = "asked", connectionId: string | null = null): Turn {
  return { question, answer: "", query: null, language: "sql", columns: [], rows: [], truncated: false, executed: false,
           sources: [], timings: {}, error: null, done: false, step: null, startedAt: Date.now(), historyId: null,
           origin, connectionId }; // prettier-ignore
}

/** The steps a person's query went through (no model): checking, and running when it ran. */
function ownTimings(timings: Partial<Record<Step, number>>, origin: Origin): Partial<Record<Step, number>> {
  if (origin === "asked") return timings;
  return Object.fromEntries(
    Object.entries(timings).filter(([step, ms]) => step === "validate" || (step === "execute" && (ms ?? 0) > 0)),
  );
}

/** The answer of POST /api/query/run as a finished turn. */
export function fromRun(result: QueryResult, question: string, connectionId: string): Turn {
  return {
    ...emptyTurn(question, result.origin, connectionId),
    answer: result.answer,
    query: result.query,
    language: result.language,
    columns: result.columns,
    rows: result.rows,
    truncated: result.truncated,
    truncation: result.truncation,
    executed: result.executed,
    sources: result.sources,
    timings: ownTimings(result.timings, result.origin),
    error: result.error,
    done: true,
    historyId: result.history_id,
    ...taught(result),
  };
}

/** The evidence fields of an answer or a history entry, as a turn keeps them. */
export function taught(
  r: Pick<QueryResult, "verified_example" | "examples_used" | "notes_used">,
): Pick<Turn, "verifiedExample" | "examplesUsed" | "notesUsed"> {
  return { verifiedExample: r.verified_example, examplesUsed: r.examples_used, notesUsed: r.notes_used };
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
    timings: ownTimings(item.timings, item.origin),
    error: item.error,
    done: true,
    step: null,
    startedAt: 0,
    historyId: item.id,
    chart: item.chart,
    feedbackRating: item.feedback_rating,
    feedbackComment: item.feedback_comment,
    origin: item.origin,
    connectionId: item.connection_id,
    ...taught(item),
  };
}

const ORIGIN_LABEL: Record<Origin, string> = { asked: "", edited: "Edited query", typed: "Typed query" };

/** What the turn's heading says: the question, or that the person edited or typed the query. */
export function turnHeading(turn: Pick<Turn, "origin" | "question">): string {
  if (turn.origin === "edited") return `Edited query (from: ${turn.question})`;
  if (turn.origin === "typed") return ORIGIN_LABEL.typed;
  return turn.question;
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

/** The day an example was verified, as people write it (the time zone's date). */
function day(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

function verifiedBy(e: VerifiedExampleRef): string {
  return `verified${e.verified_by_email ? ` by ${e.verified_by_email}` : ""} on ${day(e.verified_at)}`;
}

function noteTarget(n: NoteUsed): string {
  if (!n.object) return "this database";
  return n.column ? `${n.object}.${n.column}` : n.object;
}

/** Sources split by the parsed query: what it read, then what retrieval offered besides; and what
 * the owner taught that the answer used (a verified example it reused, examples and notes its
 * prompt carried). */
export function Provenance({
  sources,
  verifiedExample = null,
  examplesUsed = [],
  notesUsed = [],
}: {
  sources: Source[];
  verifiedExample?: VerifiedExampleRef | null;
  examplesUsed?: VerifiedExampleRef[];
  notesUsed?: NoteUsed[];
}) {
  if (sources.length === 0 && !verifiedExample && examplesUsed.length === 0 && notesUsed.length === 0) return null;
  const used = sources.filter((s) => s.used);
  const others = sources.filter((s) => !s.used);
  const name = (s: Source) => s.object + (s.via === "search" || s.via === "query" ? "" : ` (${s.via})`);
  return (
    <div className="flex flex-col gap-0.5 text-xs text-slate-600" data-testid="sources">
      {verifiedExample && (
        <p className="rounded border border-green-300 bg-green-50 px-2 py-1 text-green-900" data-testid="verified">
          <span className="font-medium">Answered from a verified example</span> (no model): “{verifiedExample.question}
          ”, {verifiedBy(verifiedExample)}.
        </p>
      )}
      {examplesUsed.length > 0 && (
        <div data-testid="examples-used">
          <span className="font-medium">Verified examples shown to the model:</span>
          <ul className="ml-4 list-disc">
            {examplesUsed.map((e) => (
              <li key={e.id}>
                “{e.question}”, {verifiedBy(e)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {notesUsed.length > 0 && (
        <div data-testid="notes-used">
          <span className="font-medium">Notes used:</span>
          <ul className="ml-4 list-disc">
            {notesUsed.map((n) => (
              <li key={`${n.object}.${n.column}`}>
                <span className="mono">{noteTarget(n)}</span>: {n.text}
              </li>
            ))}
          </ul>
        </div>
      )}
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

/** The answer without the sentence the server adds to a cached one: the note above says it. */
export function withoutCachedSentence(answer: string): string {
  return answer.replace(/\n\n\(Cached answer from [^)]*\)$/, "");
}

/** Says that an answer came from the answer cache, and offers to ask anew. */
export function CachedNote({ cachedAt, onRunAgain }: { cachedAt: string; onRunAgain?: () => void }) {
  return (
    <p
      className="flex flex-wrap items-center gap-2 rounded border border-amber-300 bg-amber-50 px-2 py-1 text-xs text-amber-900"
      data-testid="cached"
    >
      <span>Cached answer from {new Date(cachedAt).toLocaleString()}: no model and no query ran now.</span>
      {onRunAgain && (
        <button type="button" className="rounded border border-amber-400 px-2 py-0.5 font-medium" onClick={onRunAgain}>
          Run again
        </button>
      )}
    </p>
  );
}

export default function AnswerTurn({
  turn,
  exportCap,
  ref,
  onRun,
  onRunAgain,
}: {
  turn: Turn;
  exportCap: number;
  ref?: React.Ref<HTMLElement>;
  /** "Run again" on a cached answer: asks anew, skipping the cache. */
  onRunAgain?: () => void;
  /** "Edit and run": runs the edited query as a new turn, edited from this one. */
  onRun?: (query: string, editedFrom: string, connectionId: string) => Promise<void>;
}) {
  const heading = turnHeading(turn);
  return (
    <article
      ref={ref}
      tabIndex={-1}
      className="flex min-w-0 flex-col gap-2 rounded border border-slate-200 bg-white p-4 outline-none focus-visible:ring-2"
      aria-label={turn.origin === "asked" ? `Question: ${turn.question}` : heading}
      data-origin={turn.origin}
    >
      {turn.origin === "asked" ? (
        <p className="font-medium">{turn.question}</p>
      ) : (
        <p className="font-medium">
          <span className="mr-2 rounded bg-violet-100 px-1.5 py-0.5 text-xs text-violet-900" data-testid="origin">
            {ORIGIN_LABEL[turn.origin]}
          </span>
          {turn.origin === "edited" && <span className="text-sm text-slate-600">from: {turn.question}</span>}
        </p>
      )}
      {turn.cachedAt && <CachedNote cachedAt={turn.cachedAt} onRunAgain={onRunAgain} />}
      {turn.answer ? <AnswerText text={turn.cachedAt ? withoutCachedSentence(turn.answer) : turn.answer} /> : null}
      {!turn.done && <Progress step={turn.step} startedAt={turn.startedAt} />}
      {/* Said once: an answer from before the answers stopped repeating the error does not get it twice. */}
      {turn.error && !turn.answer.includes(turn.error) && <Alert kind="warning">{turn.error}</Alert>}
      {turn.query && (
        <QueryBox
          query={turn.query}
          language={turn.language}
          executed={turn.executed}
          connectionId={turn.connectionId}
          onRun={
            onRun && turn.historyId && turn.connectionId && turn.done
              ? (query) => onRun(query, turn.historyId ?? "", turn.connectionId ?? "")
              : undefined
          }
        />
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
      {turn.done && (
        <ChartPanel
          key={turn.historyId}
          columns={turn.columns}
          rows={turn.rows}
          historyId={turn.historyId}
          saved={turn.chart}
        />
      )}
      <Provenance
        sources={turn.sources}
        verifiedExample={turn.verifiedExample}
        examplesUsed={turn.examplesUsed}
        notesUsed={turn.notesUsed}
      />
      {turn.done && turn.historyId && (
        <Feedback
          key={`feedback-${turn.historyId}`}
          historyId={turn.historyId}
          rating={turn.feedbackRating}
          comment={turn.feedbackComment}
          question={turn.origin === "typed" ? "" : turn.question}
          query={turn.executed && !turn.error ? turn.query : null}
          language={turn.language}
          connectionId={turn.connectionId}
        />
      )}
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
