// The chart drawn by Apache ECharts (only the parts used, SVG renderer: labels are real text).
// Loaded on demand (React.lazy in ChartPanel), so the login page and first paint do not carry it.
import { useEffect, useRef, useState } from "react";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, TooltipComponent } from "echarts/components";
import { init, use as register, type ECharts } from "echarts/core";
import { LabelLayout } from "echarts/features";
import { SVGRenderer } from "echarts/renderers";
import { chartName, type ChartSpec } from "../lib/chart";
import { chartHeight, chartOption, DARK, LIGHT } from "../lib/chartOption";
import { fileName, saveBlob, svgToPng } from "../lib/download";
import { Button } from "./ui";

register([BarChart, LineChart, PieChart, GridComponent, TooltipComponent, LabelLayout, SVGRenderer]);

function useDark(): boolean {
  const root = document.documentElement;
  const [dark, setDark] = useState(() => root.classList.contains("dark"));
  useEffect(() => {
    const observer = new MutationObserver(() => setDark(root.classList.contains("dark")));
    observer.observe(root, { attributes: true, attributeFilter: ["class"] });
    return () => observer.disconnect();
  }, [root]);
  return dark;
}

export default function EChart({ spec }: { spec: ChartSpec }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);
  const [width, setWidth] = useState(0);
  const [failed, setFailed] = useState<string | null>(null);
  const dark = useDark();
  const height = chartHeight(spec, width || 800);
  const name = chartName(spec);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const instance = init(element, undefined, { renderer: "svg" });
    chart.current = instance;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(() => {
      setWidth(element.clientWidth);
      instance.resize();
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const instance = chart.current;
    if (!instance || width === 0) return;
    instance.resize();
    instance.setOption(chartOption(spec, width, dark ? DARK : LIGHT), { notMerge: true });
  }, [spec, width, height, dark]);

  async function download(type: "svg" | "png") {
    const instance = chart.current;
    if (!instance) return;
    setFailed(null);
    const svg = instance.renderToSVGString();
    try {
      const blob =
        type === "svg"
          ? new Blob([svg], { type: "image/svg+xml" })
          : await svgToPng(svg, instance.getWidth(), instance.getHeight());
      saveBlob(blob, fileName(`${spec.value} by ${spec.label}`, type));
    } catch (error) {
      setFailed(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <>
      <div
        ref={box}
        role="img"
        aria-label={name}
        data-testid="chart"
        data-kind={spec.kind}
        className="w-full"
        style={{ height }}
      />
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="secondary" onClick={() => void download("png")}>
          Download PNG
        </Button>
        <Button variant="secondary" onClick={() => void download("svg")}>
          Download SVG
        </Button>
        {failed && <span className="text-xs text-red-800">{failed}</span>}
      </div>
    </>
  );
}
