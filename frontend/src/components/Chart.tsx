import type { ChartSpec } from "../lib/chart";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = 36;

export default function Chart({ spec }: { spec: ChartSpec }) {
  const max = Math.max(...spec.points.map((p) => p.y), 0);
  const min = Math.min(...spec.points.map((p) => p.y), 0);
  const span = max - min || 1;
  const x = (i: number) =>
    PAD + (i * (WIDTH - 2 * PAD)) / Math.max(spec.points.length - (spec.kind === "line" ? 1 : 0), 1);
  const y = (v: number) => HEIGHT - PAD - ((v - min) * (HEIGHT - 2 * PAD)) / span;
  const barWidth = Math.max(2, (WIDTH - 2 * PAD) / spec.points.length - 4);
  return (
    <figure className="rounded border border-slate-200 bg-white p-2">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${spec.kind === "bar" ? "Bar" : "Line"} chart of ${spec.value} by ${spec.label}`}
        className="w-full"
      >
        <line x1={PAD} y1={y(0)} x2={WIDTH - PAD} y2={y(0)} stroke="#94a3b8" />
        {spec.kind === "bar" ? (
          spec.points.map((p, i) => (
            <rect
              key={i}
              x={x(i) + 2}
              width={barWidth}
              y={Math.min(y(p.y), y(0))}
              height={Math.abs(y(p.y) - y(0))}
              fill="#2563eb"
            >
              <title>{`${p.x}: ${p.y}`}</title>
            </rect>
          ))
        ) : (
          <polyline
            fill="none"
            stroke="#2563eb"
            strokeWidth={2}
            points={spec.points.map((p, i) => `${x(i)},${y(p.y)}`).join(" ")}
          />
        )}
        <text x={PAD} y={14} fontSize={11} fill="#475569">
          {max}
        </text>
        <text x={PAD} y={HEIGHT - 8} fontSize={11} fill="#475569">
          {spec.points[0]?.x}
        </text>
        <text x={WIDTH - PAD} y={HEIGHT - 8} fontSize={11} fill="#475569" textAnchor="end">
          {spec.points[spec.points.length - 1]?.x}
        </text>
      </svg>
      <figcaption className="text-xs text-slate-600">
        {spec.value} by {spec.label}
      </figcaption>
    </figure>
  );
}
