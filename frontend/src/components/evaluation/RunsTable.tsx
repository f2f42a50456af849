import type { EvaluationRun } from "../../api";
import { runRows } from "../../lib/evaluation";
import { Button, ProgressBar, ScrollArea } from "../ui";

/** The runs of a connection side by side: model, status, accuracy, context recall, median time, date. */
export default function RunsTable({
  runs,
  selected,
  onOpen,
  onStop,
  onDelete,
}: {
  runs: EvaluationRun[];
  selected: string | null;
  onOpen: (id: string) => void;
  onStop: (id: string) => void;
  onDelete: (id: string) => void;
}) {
  if (runs.length === 0) return <p className="text-sm text-slate-600">No evaluation has run yet.</p>;
  const rows = runRows(runs);
  const th = "px-2 py-1 text-left font-medium";
  return (
    <ScrollArea label="Evaluation runs">
      <table className="w-full text-sm">
        <caption className="sr-only">Evaluation runs, newest first</caption>
        <thead className="border-b border-slate-200 text-slate-700">
          <tr>
            <th scope="col" className={th}>
              Model
            </th>
            <th scope="col" className={th}>
              Status
            </th>
            <th scope="col" className={th}>
              Accuracy
            </th>
            <th scope="col" className={th}>
              Context recall
            </th>
            <th scope="col" className={th}>
              Median time
            </th>
            <th scope="col" className={th}>
              Date
            </th>
            <th scope="col" className={th}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.id}
              className={`border-b border-slate-100 ${row.id === selected ? "bg-slate-100" : ""}`}
              aria-current={row.id === selected ? "true" : undefined}
            >
              <th scope="row" className="px-2 py-1 text-left font-normal">
                <span className="font-mono text-xs text-slate-900">{row.model}</span>
                <span className="block text-xs text-slate-600">{row.source}</span>
              </th>
              <td className="px-2 py-1">
                {row.status}
                {row.active ? (
                  <ProgressBar done={row.done} total={row.total} label={`Evaluation with ${row.model}`} />
                ) : null}
                <span className="block text-xs text-slate-600">{row.progress}</span>
              </td>
              <td className="px-2 py-1">
                {row.accuracy}
                <span className="block text-xs text-slate-600">{row.counted}</span>
              </td>
              <td className="px-2 py-1">{row.recall}</td>
              <td className="px-2 py-1">{row.median}</td>
              <td className="px-2 py-1 text-xs text-slate-600">{row.date}</td>
              <td className="px-2 py-1">
                <div className="flex gap-2">
                  <Button
                    variant="secondary"
                    onClick={() => onOpen(row.id)}
                    aria-label={`Open the run of ${row.model}`}
                  >
                    Open
                  </Button>
                  {row.active && (
                    <Button
                      variant="secondary"
                      onClick={() => onStop(row.id)}
                      aria-label={`Stop the run of ${row.model}`}
                    >
                      Stop
                    </Button>
                  )}
                  <Button
                    variant="secondary"
                    onClick={() => onDelete(row.id)}
                    aria-label={`Delete the run of ${row.model}`}
                  >
                    Delete
                  </Button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollArea>
  );
}
