import { useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import EvaluationSetPanel from "../components/evaluation/EvaluationSetPanel";
import RunDetail from "../components/evaluation/RunDetail";
import RunsTable from "../components/evaluation/RunsTable";
import { Alert, Button, SelectField } from "../components/ui";
import {
  errorText,
  runIsActive,
  useConnections,
  useCancelEvaluation,
  useDeleteEvaluation,
  useEvaluation,
  useEvaluations,
  useModels,
  useSettings,
  useStartEvaluation,
} from "../lib/queries";

/** Start a run: the model (those the LLM server lists) and what to ask (the set or the examples). */
function StartForm({ connectionId, running }: { connectionId: string; running: boolean }) {
  const models = useModels();
  const settings = useSettings();
  const start = useStartEvaluation(connectionId);
  const [model, setModel] = useState("");
  const [source, setSource] = useState<"set" | "examples">("set");
  const [useExamples, setUseExamples] = useState(true);
  const [, setParams] = useSearchParams();
  const names = models.data ?? [];
  // The person's model as the server lists it ("llama3.2" is "llama3.2:latest"); kept even if unlisted.
  const mine = settings.data?.model ?? "";
  const listed = names.find((n) => n === mine || n === `${mine}:latest`);
  const chosen = model || listed || mine || names[0] || "";
  const options = !chosen || names.includes(chosen) ? names : [chosen, ...names];

  function submit(event: FormEvent) {
    event.preventDefault();
    start.mutate(
      { model: chosen, source, use_examples: useExamples },
      { onSuccess: (created) => setParams({ run: created.id }) },
    );
  }

  return (
    <section
      aria-labelledby="start-heading"
      className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4"
    >
      <h2 id="start-heading" className="text-lg font-semibold text-slate-900">
        Run an evaluation
      </h2>
      <p className="text-sm text-slate-600">
        Each question is asked through the same steps as in Chat (retrieval, the model, the read-only guard, the
        database) and its rows are compared with the expected query&apos;s.
      </p>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <SelectField label="Model" value={chosen} onChange={(e) => setModel(e.target.value)}>
          {options.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Questions" value={source} onChange={(e) => setSource(e.target.value as typeof source)}>
          <option value="set">The evaluation set</option>
          <option value="examples">The verified examples</option>
        </SelectField>
        <label className="flex items-center gap-2 py-2 text-sm text-slate-700">
          <input type="checkbox" checked={useExamples} onChange={(e) => setUseExamples(e.target.checked)} />
          Verified examples in the prompt
        </label>
        <Button type="submit" disabled={!chosen || start.isPending || running}>
          {start.isPending ? "Starting…" : "Start"}
        </Button>
      </form>
      {running && <p className="text-xs text-slate-600">One evaluation runs at a time on a connection.</p>}
      {errorText(models.error, "The model list is unavailable.") && (
        <Alert>{errorText(models.error, "The model list is unavailable.")}</Alert>
      )}
      {start.error && <Alert>{errorText(start.error, "The evaluation could not start.")}</Alert>}
    </section>
  );
}

/** The Evaluate screen of one connection: its evaluation set, its runs side by side, one run's questions. */
export default function EvaluatePage() {
  const { id = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const connections = useConnections();
  const runs = useEvaluations(id);
  const selected = params.get("run") ?? runs.data?.[0]?.id ?? null;
  const detail = useEvaluation(id, selected);
  const remove = useDeleteEvaluation(id);
  const stop = useCancelEvaluation(id);
  const name = connections.data?.find((c) => c.id === id)?.name;
  const running = (runs.data ?? []).some(runIsActive);

  function deleteRun(run: string) {
    if (!window.confirm("Delete this run and its results?")) return;
    remove.mutate(run, { onSuccess: () => run === selected && setParams({}) });
  }

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-xl font-semibold text-slate-900">Evaluate{name ? ` ${name}` : ""}</h1>
        <Link to="/connections" className="text-sm text-blue-700 underline">
          Back to connections
        </Link>
      </div>
      <EvaluationSetPanel connectionId={id} />
      <StartForm connectionId={id} running={running} />
      <section
        aria-labelledby="runs-heading"
        className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4"
      >
        <h2 id="runs-heading" className="text-lg font-semibold text-slate-900">
          Runs
        </h2>
        {runs.error && <Alert>{errorText(runs.error, "Could not load the runs.")}</Alert>}
        {remove.error && <Alert>{errorText(remove.error, "Could not delete the run.")}</Alert>}
        {stop.error && <Alert>{errorText(stop.error, "Could not stop the run.")}</Alert>}
        {runs.data && (
          <RunsTable
            runs={runs.data}
            selected={selected}
            onOpen={(run) => setParams({ run })}
            onStop={(run) => stop.mutate(run)}
            onDelete={deleteRun}
          />
        )}
      </section>
      {detail.error && <Alert>{errorText(detail.error, "Could not load the run.")}</Alert>}
      {detail.data && <RunDetail run={detail.data} />}
    </div>
  );
}
