import { dateLabel, type ChartSpec } from "../lib/chart";

const WIDTH = 640;
const HEIGHT = 240;
const LEFT = 64;
const RIGHT = 16;
const TOP = 12;
const BOTTOM = 48;
const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** About five round steps from the lowest to the highest value (0 always included). */
export function ticks(min: number, max: number): number[] {
  const span = max - min || 1;
  const raw = span / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step / 2; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

function short(text: string, max = 14): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export default function Chart({ spec }: { spec: ChartSpec }) {
  const values = spec.points.map((p) => p.y);
  const marks = ticks(Math.min(...values, 0), Math.max(...values, 0));
  const low = marks[0];
  const high = marks[marks.length - 1];
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const y = (v: number) => TOP + plotH - ((v - low) * plotH) / (high - low || 1);
  const n = spec.points.length;
  const times = spec.points.map((p) => p.t ?? 0);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const monthly = spec.kind === "line" && spec.points.every((p) => /^\d{4}-\d{2}-01/.test(p.x));
  // Bars sit in equal slots; a line's points sit where their time is.
  const x = (i: number) =>
    spec.kind === "bar" ? LEFT + (i + 0.5) * (plotW / n) : LEFT + ((times[i] - t0) * plotW) / (t1 - t0 || 1);
  const every = Math.max(1, Math.ceil(n / (spec.kind === "bar" ? 12 : 6)));
  const barWidth = Math.max(2, plotW / n - 4);
  const label = (i: number) => (spec.kind === "line" ? dateLabel(spec.points[i].x, monthly) : short(spec.points[i].x));
  return (
    <figure className="rounded border border-slate-200 bg-white p-2">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${spec.kind === "bar" ? "Bar" : "Line"} chart of ${spec.value} by ${spec.label}`}
        className="w-full"
      >
        {marks.map((m) => (
          <g key={m}>
            <line x1={LEFT} x2={WIDTH - RIGHT} y1={y(m)} y2={y(m)} stroke={m === 0 ? "#94a3b8" : "#e2e8f0"} />
            <text x={LEFT - 6} y={y(m) + 4} fontSize={11} fill="#475569" textAnchor="end">
              {numbers.format(m)}
            </text>
          </g>
        ))}
        {spec.kind === "bar" ? (
          spec.points.map((p, i) => (
            <rect
              key={i}
              x={x(i) - barWidth / 2}
              width={barWidth}
              y={Math.min(y(p.y), y(0))}
              height={Math.abs(y(p.y) - y(0))}
              fill="#2563eb"
            >
              <title>{`${p.x}: ${numbers.format(p.y)}`}</title>
            </rect>
          ))
        ) : (
          <>
            <polyline
              fill="none"
              stroke="#2563eb"
              strokeWidth={2}
              points={spec.points.map((p, i) => `${x(i)},${y(p.y)}`).join(" ")}
            />
            {spec.points.map((p, i) => (
              <circle key={i} cx={x(i)} cy={y(p.y)} r={3} fill="#2563eb">
                <title>{`${dateLabel(p.x, monthly)}: ${numbers.format(p.y)}`}</title>
              </circle>
            ))}
          </>
        )}
        {spec.points.map((_, i) =>
          i % every === 0 ? (
            <text
              key={i}
              x={x(i)}
              y={HEIGHT - BOTTOM + 16}
              fontSize={11}
              fill="#475569"
              textAnchor="middle"
              data-testid="x-label"
            >
              {label(i)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption className="text-xs text-slate-600">
        {spec.value} by {spec.label}
      </figcaption>
    </figure>
  );
}
