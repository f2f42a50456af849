// The ECharts option of a chart: a pure function of the spec, the width it is drawn at and the
// theme, so that what is drawn can be tested without a browser. Font sizes are pixels, the
// same at every width (the SVG renderer draws real text, never scaled down).
import type { BarSeriesOption, LineSeriesOption, PieSeriesOption } from "echarts/charts";
import type { GridComponentOption, TooltipComponentOption } from "echarts/components";
import type { ComposeOption } from "echarts/core";
import { formatTime, type ChartSpec, type TimeUnit } from "./chart";

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | PieSeriesOption | GridComponentOption | TooltipComponentOption
>;

export interface Palette {
  background: string;
  text: string;
  muted: string;
  axis: string;
  grid: string;
  series: string[];
}

export const LIGHT: Palette = {
  background: "#ffffff",
  text: "#1e293b",
  muted: "#475569",
  axis: "#94a3b8",
  grid: "#e2e8f0",
  series: ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"],
};

export const DARK: Palette = {
  background: "#0f172a",
  text: "#e2e8f0",
  muted: "#cbd5e1",
  axis: "#64748b",
  grid: "#334155",
  series: ["#60a5fa", "#fbbf24", "#34d399", "#f87171", "#a78bfa", "#22d3ee", "#f472b6", "#a3e635"],
};

export const FONT_PX = 12;
const LINE_PX = FONT_PX + 3;
const ROW_PX = 26;
const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

/** A value as labels write it: whole figures grouped, at most two decimals. */
export function formatValue(value: number): string {
  return numbers.format(value);
}

/** An axis tick: short (12K) on an axis that reaches 10,000, so that it stays narrow on a phone. */
export function formatTick(value: number, short = Math.abs(value) >= 10_000): string {
  return short ? compact.format(value) : numbers.format(value);
}

/** The width category names may take beside horizontal bars; longer names wrap. */
export function labelWidth(width: number): number {
  return Math.round(Math.min(220, Math.max(90, width * 0.34)));
}

/** The height the chart needs: horizontal bars get a row each, tall enough for a wrapped name. */
export function chartHeight(spec: ChartSpec, width = 800): number {
  if (spec.horizontal) {
    const perLine = Math.max(1, Math.floor(labelWidth(width) / (FONT_PX * 0.62)));
    const lines = Math.max(...spec.points.map((p) => Math.ceil(p.x.length / perLine)), 1);
    const row = Math.max(ROW_PX, Math.min(lines, 4) * LINE_PX + 12);
    return Math.max(200, spec.points.length * row + 70);
  }
  return spec.kind === "pie" ? 340 : 300;
}

/** An axis end 4% of the span beyond the data, so the first and last points stand clear of the edges. */
function pad(side: -1 | 1) {
  return ({ min, max }: { min: number; max: number }) => (side < 0 ? min : max) + side * ((max - min) * 0.04 || 1);
}

/** How far apart ticks on a time axis must be, at least, so that no label repeats a date. */
const MIN_STEP: Record<TimeUnit, number> = {
  year: 365 * 86_400_000,
  month: 28 * 86_400_000,
  day: 86_400_000,
  minute: 60_000,
};

export function chartOption(spec: ChartSpec, width: number, palette: Palette = LIGHT): ChartOption {
  const phone = width < 520;
  const text = { color: palette.text, fontSize: FONT_PX };
  const axisLine = { show: true, lineStyle: { color: palette.axis } };
  const axisTick = { show: true, lineStyle: { color: palette.axis } };
  const splitLine = { show: true, lineStyle: { color: palette.grid } };
  const short = Math.max(...spec.points.map((p) => Math.abs(p.y))) >= 10_000;
  const valueAxis = {
    type: "value" as const,
    axisLabel: { ...text, color: palette.muted, formatter: (v: number) => formatTick(v, short), hideOverlap: true },
    axisLine,
    axisTick,
    splitLine,
  };
  const valueLabel = { show: true, ...text, formatter: (p: { value: unknown }) => formatValue(lastNumber(p.value)) };
  const tooltip: TooltipComponentOption = {
    trigger: spec.kind === "pie" ? "item" : "axis",
    confine: true,
    textStyle: { fontSize: FONT_PX },
    // Written here (escaped) rather than by ECharts so dates read as on the axis.
    formatter: (params) => {
      const item = (Array.isArray(params) ? params[0] : params) as { name?: string; value?: unknown; percent?: number };
      const head =
        spec.axis === "time" ? formatTime(firstNumber(item.value), spec.unit ?? "day") : String(item.name ?? "");
      const share = spec.kind === "pie" ? ` (${Math.round(item.percent ?? 0)}%)` : "";
      return `${escapeHtml(head)}<br/>${escapeHtml(spec.value)}: <b>${formatValue(lastNumber(item.value))}</b>${share}`;
    },
  };
  const base: ChartOption = {
    animation: false,
    backgroundColor: palette.background,
    color: palette.series,
    textStyle: { fontFamily: "system-ui, sans-serif", fontSize: FONT_PX },
    tooltip,
  };

  if (spec.kind === "pie") {
    return {
      ...base,
      series: [
        {
          type: "pie",
          name: spec.value,
          radius: phone ? ["0%", "50%"] : ["0%", "62%"],
          center: ["50%", "52%"],
          data: spec.points.map((p) => ({ name: p.x, value: p.y })),
          label: {
            ...text,
            formatter: (p: { name: string; value: unknown; percent?: number }) =>
              `${p.name}: ${formatValue(lastNumber(p.value))} (${Math.round(p.percent ?? 0)}%)`,
            width: phone ? 110 : 200,
            overflow: "break",
            lineHeight: LINE_PX,
          },
          labelLine: { show: true },
          minShowLabelAngle: 0,
          avoidLabelOverlap: true,
        },
      ],
    };
  }

  const grid: GridComponentOption = { left: 8, right: spec.horizontal ? 56 : 24, top: 28, bottom: 8 };
  const category = {
    type: "category" as const,
    data: spec.points.map((p) => p.x),
    // Every name is written (interval 0); long ones wrap within a width that fits the screen.
    axisLabel: {
      ...text,
      interval: 0,
      width: spec.horizontal ? labelWidth(width) : undefined,
      overflow: spec.horizontal ? ("break" as const) : undefined,
      lineHeight: LINE_PX,
      rotate: !spec.horizontal && spec.points.length > 6 ? 40 : 0,
    },
    axisLine,
    axisTick: { ...axisTick, alignWithLabel: true },
  };

  if (spec.kind === "bar") {
    const series: BarSeriesOption = {
      type: "bar",
      name: spec.value,
      data: spec.points.map((p) => p.y),
      label: { ...valueLabel, position: spec.horizontal ? "right" : "top" },
      barMaxWidth: 48,
    };
    return spec.horizontal
      ? { ...base, grid, xAxis: valueAxis, yAxis: { ...category, inverse: true }, series: [series] }
      : { ...base, grid, xAxis: category, yAxis: valueAxis, series: [series] };
  }

  // A line: along time, numbers or (if chosen) categories in their order.
  const unit = spec.unit ?? "day";
  const xAxis =
    spec.axis === "time"
      ? {
          type: "time" as const,
          minInterval: MIN_STEP[unit],
          min: pad(-1),
          max: pad(1),
          axisLabel: { ...text, formatter: (v: number) => formatTime(v, unit), hideOverlap: true },
          axisLine,
          axisTick,
          splitLine: { show: false },
        }
      : spec.axis === "value"
        ? { ...valueAxis, min: pad(-1), max: pad(1), splitLine: { show: false } }
        : category;
  const series: LineSeriesOption = {
    type: "line",
    name: spec.value,
    data: spec.points.map((p) => (spec.axis === "category" ? p.y : [p.t ?? 0, p.y])),
    showSymbol: true,
    symbolSize: 7,
    // Values are written on the points while they fit; beyond, the tooltip tells them.
    label: { ...valueLabel, show: spec.points.length <= (phone ? 8 : 16), position: "top" },
    lineStyle: { width: 2 },
  };
  return {
    ...base,
    grid: { ...grid, right: 32 },
    xAxis,
    yAxis: valueAxis,
    series: [series],
  };
}

function firstNumber(value: unknown): number {
  return Number(Array.isArray(value) ? value[0] : value);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The number of a data item: itself, or the last of an [x, y] pair. */
function lastNumber(value: unknown): number {
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof v === "number" ? v : Number(v);
}
