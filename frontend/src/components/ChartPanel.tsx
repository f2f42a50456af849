// An answer's chart: the automatic one for an aggregate-shaped result, or the one the person
// chose (kind, the column along the axis, the value), kept with the answer's history entry so
// that a reopened conversation shows it again. The drawing (ECharts) loads on demand.
import { lazy, Suspense, useMemo, useState } from "react";
import type { Cell } from "../api";
import { useAuth } from "../auth";
import {
  autoChoice,
  buildChart,
  chartColumns,
  chartable,
  defaultChoice,
  fitKind,
  KIND_NAMES,
  kindsFor,
  type ChartChoice,
  type ChartKind,
} from "../lib/chart";
import { Button, SelectField } from "./ui";

const EChart = lazy(() => import("./EChart"));

export interface ChartPanelProps {
  columns: string[];
  rows: Cell[][];
  /** The answer's history entry, where a choice is kept; null: not recorded, the choice lasts the page. */
  historyId: string | null;
  /** The choice kept with the entry (null or absent: the automatic chart). */
  saved?: ChartChoice | null;
}

export default function ChartPanel({ columns, rows, historyId, saved }: ChartPanelProps) {
  const { api } = useAuth();
  const [choice, setChoice] = useState<ChartChoice | null>(saved ?? null);
  const [error, setError] = useState<string | null>(null);
  const auto = useMemo(() => autoChoice(columns, rows), [columns, rows]);
  // A kept choice that no longer fits (it cannot, short of an edited entry) gives way to the automatic one.
  const chosen = useMemo(() => choice && buildChart(columns, rows, choice), [columns, rows, choice]);
  const current = chosen ? choice : auto;
  const spec = useMemo(() => chosen ?? (auto && buildChart(columns, rows, auto)), [chosen, auto, columns, rows]);
  const { axes, measures } = useMemo(() => chartColumns(columns, rows), [columns, rows]);

  function keep(next: ChartChoice | null) {
    setChoice(next);
    setError(null);
    if (!historyId) return;
    api.setChart(historyId, next).catch((e: unknown) => {
      setError(`The chart choice was not kept: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  function change(part: Partial<ChartChoice>) {
    if (!current) return;
    const next = { ...current, ...part };
    const fitted = fitKind(columns, rows, next);
    // Back to what the automatic choice draws is the automatic choice (null), which follows the result.
    const automatic = auto && fitted.kind === auto.kind && fitted.x === auto.x && fitted.y === auto.y;
    keep(automatic ? null : fitted);
  }

  if (!spec || !current) {
    if (!chartable(columns, rows)) return null;
    return (
      <div>
        <Button variant="secondary" onClick={() => keep(defaultChoice(columns, rows))}>
          Chart
        </Button>
        {error && <p className="text-xs text-red-800">{error}</p>}
      </div>
    );
  }

  const kinds = kindsFor(columns, rows, current.x, current.y);
  return (
    <figure
      className="flex min-w-0 flex-col gap-2 rounded border border-slate-200 bg-white p-2"
      data-testid="chart-panel"
    >
      <div className="flex flex-wrap items-end gap-2" role="group" aria-label="Chart settings">
        <SelectField
          label="Chart type"
          value={spec.kind}
          onChange={(e) => change({ kind: e.target.value as ChartKind })}
        >
          {kinds.map((k) => (
            <option key={k} value={k}>
              {KIND_NAMES[k]}
            </option>
          ))}
        </SelectField>
        <SelectField
          label={spec.kind === "pie" ? "Slices" : "Along"}
          value={current.x}
          onChange={(e) => change({ x: e.target.value })}
        >
          {axes
            .filter((c) => c !== current.y)
            .map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
        </SelectField>
        <SelectField label="Value" value={current.y} onChange={(e) => change({ y: e.target.value })}>
          {measures
            .filter((c) => c !== current.x)
            .map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
        </SelectField>
        {choice && (
          <Button variant="secondary" onClick={() => keep(null)}>
            {auto ? "Automatic chart" : "Remove chart"}
          </Button>
        )}
      </div>
      <Suspense fallback={<p className="text-xs text-slate-500">Loading the chart…</p>}>
        <EChart spec={spec} />
      </Suspense>
      <figcaption className="text-xs text-slate-600">
        {spec.value} by {spec.label}
        {spec.omitted > 0 && `; the ${spec.omitted} smallest are left out`}
      </figcaption>
      {error && <p className="text-xs text-red-800">{error}</p>}
    </figure>
  );
}
