import type { EvaluationResult, EvaluationRunDetail } from "../../api";
import { diffView, duration, OUTCOME_LABEL, OUTCOME_STYLE, outcomeCounts, percent } from "../../lib/evaluation";
import { Alert, ScrollArea } from "../ui";

function QueryBlock({ label, text }: { label: string; text: string | null }) {
  return (
    <div className="min-w-0 flex-1">
      <h4 className="text-xs font-medium text-slate-700">{label}</h4>
      <pre className="mt-1 overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs">
        {text ?? "(none)"}
      </pre>
    </div>
  );
}

/** A question's row diff: the facts, then the rows only one side has, each marked with its side. */
export function DiffTable({ result }: { result: EvaluationResult }) {
  const view = diffView(result.diff);
  return (
    <div className="flex flex-col gap-1">
      {view.facts.map((fact) => (
        <p key={fact} className="text-xs text-slate-700">
          {fact}
        </p>
      ))}
      {view.lines.length > 0 && (
        <ScrollArea label={`Row differences of question ${result.position + 1}`}>
          <table className="text-xs">
            <caption className="sr-only">Rows only in the expected result, then rows only in the generated one</caption>
            <thead className="border-b border-slate-200">
              <tr>
                <th scope="col" className="px-2 py-1 text-left font-medium">
                  Only in
                </th>
                {view.columns.map((c, i) => (
                  <th key={`${c}-${i}`} scope="col" className="px-2 py-1 text-left font-medium">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {view.lines.map((line, i) => (
                <tr key={i} className="border-b border-slate-100">
                  <th
                    scope="row"
                    className={`px-2 py-1 text-left font-normal ${line.side === "expected" ? "bg-green-50" : "bg-red-50"}`}
                  >
                    {line.side === "expected" ? "expected" : "generated"}
                  </th>
                  {line.cells.map((cell, j) => (
                    <td key={j} className="px-2 py-1 font-mono">
                      {cell}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollArea>
      )}
    </div>
  );
}

function Question({ result }: { result: EvaluationResult }) {
  const t = result.timings;
  return (
    <li className="rounded border border-slate-200">
      <details>
        <summary className="flex cursor-pointer flex-wrap items-center gap-2 px-3 py-2 text-sm">
          <span className={`rounded px-2 py-0.5 text-xs ${OUTCOME_STYLE[result.outcome]}`}>
            {OUTCOME_LABEL[result.outcome]}
          </span>
          <span className="text-slate-900">
            {result.position + 1}. {result.question}
          </span>
        </summary>
        <div className="flex flex-col gap-3 border-t border-slate-200 px-3 py-2">
          {result.error && <p className="text-xs text-red-800">{result.error}</p>}
          <div className="flex flex-col gap-3 md:flex-row">
            <QueryBlock label="Expected query" text={result.expected_query} />
            <QueryBlock label="Generated query" text={result.generated_query} />
          </div>
          {result.outcome !== "expected_failed" && <DiffTable result={result} />}
          <p className="text-xs text-slate-600">
            Context recall {percent(result.context_recall)}
            {result.missing_objects.length > 0 && ` (not retrieved: ${result.missing_objects.join(", ")})`}. Time{" "}
            {duration(t.total)}: retrieve {duration(t.retrieve)}, generate {duration(t.generate)}, validate{" "}
            {duration(t.validate_ms)}, execute {duration(t.execute)}; the expected query {duration(t.expected)}.
          </p>
        </div>
      </details>
    </li>
  );
}

/** One run: its scores, how many questions ended in each outcome, and every question's detail. */
export default function RunDetail({ run }: { run: EvaluationRunDetail }) {
  const counts = outcomeCounts(run.results);
  return (
    <section aria-labelledby="run-heading" className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4">
      <h2 id="run-heading" className="text-lg font-semibold text-slate-900">
        Run of <span className="font-mono">{run.model}</span>
      </h2>
      <p className="text-sm text-slate-700">
        Accuracy {percent(run.accuracy)} ({run.correct} of {run.scored} questions
        {run.done > run.scored && `; ${run.done - run.scored} left out because the expected query failed`}), context
        recall {percent(run.context_recall)}, median time {duration(run.median_ms)}. Top {String(run.settings.top_k)}{" "}
        objects, {String(run.settings.sample_rows)} sample rows
        {run.settings.use_examples === false ? ", without verified examples" : ""}.
      </p>
      {run.error && <Alert>{run.error}</Alert>}
      {counts.length > 0 && (
        <ul className="flex flex-wrap gap-2 text-xs" aria-label="Outcomes">
          {counts.map(([outcome, n]) => (
            <li key={outcome} className={`rounded px-2 py-0.5 ${OUTCOME_STYLE[outcome]}`}>
              {OUTCOME_LABEL[outcome]}: {n}
            </li>
          ))}
        </ul>
      )}
      <ol className="flex flex-col gap-2" aria-label="Questions">
        {run.results.map((r) => (
          <Question key={r.position} result={r} />
        ))}
      </ol>
    </section>
  );
}
