import { describe, expect, it } from "vitest";
import type { Cell } from "../api";
import {
  autoChoice,
  buildChart,
  chartable,
  chartColumns,
  chartFor,
  chartName,
  dateLabel,
  defaultChoice,
  fitKind,
  formatTime,
  kindsFor,
  MAX_BARS,
  timeUnit,
  wallClock,
} from "./chart";
import { chartHeight, chartOption, escapeHtml, formatTick } from "./chartOption";

const CATEGORIES: [string, number][] = [
  ["Action", 64],
  ["Animation", 66],
  ["Children", 60],
  ["Classics", 57],
  ["Comedy", 58],
  ["Documentary", 68],
  ["Drama", 62],
  ["Family", 69],
  ["Foreign", 73],
  ["Games", 61],
  ["Horror", 56],
  ["Music", 51],
  ["New", 63],
  ["Sci-Fi", 61],
  ["Sports", 74],
  ["Travel", 57],
];

const MONTHS: Cell[][] = [
  ["2005-07-01T00:00:00+00:00", 28373.89],
  ["2005-05-01T00:00:00+00:00", 4824.43],
  ["2005-06-01T00:00:00+00:00", 9631.88],
  ["2006-02-01T00:00:00+00:00", 514.18],
  ["2005-08-01T00:00:00+00:00", 24072.13],
];

describe("chartFor (the automatic chart)", () => {
  it("draws categories as bars sorted by value, largest first, every one named", () => {
    const spec = chartFor(["category", "films"], CATEGORIES);
    expect(spec?.kind).toBe("bar");
    expect(spec?.axis).toBe("category");
    expect(spec?.points.map((p) => p.x).slice(0, 3)).toEqual(["Sports", "Foreign", "Family"]);
    expect(spec?.points.at(-1)).toEqual({ x: "Music", y: 51 });
    expect(spec?.points).toHaveLength(16);
    // Sixteen names do not fit side by side on a phone: the bars lie down.
    expect(spec?.horizontal).toBe(true);
    expect(chartName(spec!)).toBe("Bar chart of films by category");
  });

  it("keeps a few short categories upright and lays long names down", () => {
    const few = chartFor(["rating", "films"], [["G", 178], ["PG", 194], ["R", 195]]); // prettier-ignore
    expect(few?.horizontal).toBe(false);
    expect(few?.points.map((p) => p.x)).toEqual(["R", "PG", "G"]);
    const long = chartFor(["city", "n"], [["Santiago de los Caballeros", 3], ["Lima", 2]]); // prettier-ignore
    expect(long?.horizontal).toBe(true);
  });

  it("draws a time series as a line on a time scale, dates as the database wrote them", () => {
    const spec = chartFor(["month", "revenue"], MONTHS);
    expect(spec?.kind).toBe("line");
    expect(spec?.axis).toBe("time");
    expect(spec?.unit).toBe("month");
    expect(spec?.points.map((p) => p.x)).toEqual(["2005-05", "2005-06", "2005-07", "2005-08", "2006-02"]);
    const t = spec!.points.map((p) => p.t!);
    // Feb 2006 is six months after Aug 2005, not one step: the gap is far wider than May to June.
    expect(t[4] - t[3]).toBeGreaterThan(5 * (t[1] - t[0]));
    expect(t[0]).toBe(new Date(2005, 4, 1).getTime());
  });

  it("never plots an id as a measure and does not chart a listing", () => {
    expect(chartFor(["film_id", "title"], [[1, "ACADEMY DINOSAUR"], [2, "ACE GOLDFINGER"]])).toBeNull(); // prettier-ignore
    const listing = [
      ["ACADEMY DINOSAUR", "A Epic Drama", 0.99, 86],
      ["ACE GOLDFINGER", "A Astounding Epistle", 4.99, 48],
    ];
    expect(chartFor(["title", "description", "rental_rate", "length"], listing)).toBeNull();
    const byStore = chartFor(["store_id", "category", "films"], [[1, "Action", 30], [2, "Action", 34]]); // prettier-ignore
    expect(byStore?.value).toBe("films");
    expect(byStore?.label).toBe("category");
  });

  it("draws nothing for one row, no number, no label or a null", () => {
    expect(chartFor(["n"], [[1], [2]])).toBeNull();
    expect(chartFor(["a", "b"], [["x", 1]])).toBeNull();
    expect(chartFor(["a", "b"], [["x", "y"], ["z", "w"]])).toBeNull(); // prettier-ignore
    expect(autoChoice(["a", "b"], [["x", 1], ["y", null]])).toBeNull(); // prettier-ignore
  });
});

describe("dates", () => {
  it("reads the wall clock whatever the offset, and writes the step the data has", () => {
    expect(wallClock("2005-05-01T00:00:00+00:00")).toBe(new Date(2005, 4, 1).getTime());
    expect(wallClock("2005-05-24 22:53:30")).toBe(new Date(2005, 4, 24, 22, 53, 30).getTime());
    expect(wallClock("2005-05-24")).toBe(new Date(2005, 4, 24).getTime());
    expect(Number.isNaN(wallClock("May 2005"))).toBe(true);
    const days = [new Date(2005, 4, 24).getTime(), new Date(2005, 4, 25).getTime()];
    expect(timeUnit(days)).toBe("day");
    expect(timeUnit([new Date(2005, 0, 1).getTime(), new Date(2006, 0, 1).getTime()])).toBe("year");
    expect(timeUnit([new Date(2005, 4, 24, 10, 30).getTime()])).toBe("minute");
    expect(formatTime(days[0], "day")).toBe("2005-05-24");
    expect(formatTime(new Date(2005, 4, 24, 9, 5).getTime(), "minute")).toBe("2005-05-24 09:05");
    expect(formatTime(days[0], "year")).toBe("2005");
    expect(dateLabel("2005-07-01T00:00:00", true)).toBe("2005-07");
  });
});

describe("the switcher's choices", () => {
  const listing: Cell[][] = [
    [1, "ACADEMY DINOSAUR", "PG", 86, 0.99],
    [2, "ACE GOLDFINGER", "G", 48, 4.99],
    [3, "ADAPTATION HOLES", "NC-17", 50, 2.99],
  ];
  const columns = ["film_id", "title", "rating", "length", "rental_rate"];

  it("offers every non-id number as the value and any plain column along the axis", () => {
    expect(chartColumns(columns, listing)).toEqual({
      axes: ["film_id", "title", "rating", "length", "rental_rate"],
      measures: ["length", "rental_rate"],
    });
    expect(chartable(columns, listing)).toBe(true);
    expect(chartable(["film_id", "title"], [[1, "A"]])).toBe(false);
    expect(chartable(["n"], [[1]])).toBe(false);
    expect(chartable(["doc", "n"], [[{ a: 1 }, 1]])).toBe(false);
  });

  it("makes a listing's chart from its first name and first measure", () => {
    expect(autoChoice(columns, listing)).toBeNull();
    expect(defaultChoice(columns, listing)).toEqual({ kind: "bar", x: "title", y: "length" });
    expect(defaultChoice(["month", "id", "n"], [["2005-05-01", 1, 2]])).toEqual({ kind: "line", x: "month", y: "n" });
  });

  it("offers a line along dates or numbers and a pie of a few non-negative parts", () => {
    expect(kindsFor(["category", "films"], CATEGORIES, "category", "films")).toEqual(["bar", "pie"]);
    expect(kindsFor(["month", "revenue"], MONTHS, "month", "revenue")).toEqual(["bar", "line"]);
    expect(kindsFor(columns, listing, "length", "rental_rate")).toEqual(["bar", "line", "pie"]);
    expect(kindsFor(["k", "delta"], [["a", -1], ["b", 2]], "k", "delta")).toEqual(["bar"]); // prettier-ignore
    const many = Array.from({ length: 30 }, (_, i) => [`c${i}`, i + 1]);
    expect(kindsFor(["k", "n"], many, "k", "n")).toEqual(["bar"]);
    expect(fitKind(["category", "films"], CATEGORIES, { kind: "line", x: "category", y: "films" }).kind).toBe("bar");
    expect(fitKind(["category", "films"], CATEGORIES, { kind: "pie", x: "category", y: "films" }).kind).toBe("pie");
  });

  it("draws what was chosen, and nothing for a choice that does not fit", () => {
    const pie = buildChart(["category", "films"], CATEGORIES, { kind: "pie", x: "category", y: "films" });
    expect(pie?.kind).toBe("pie");
    expect(pie?.points[0].x).toBe("Sports");
    const bars = buildChart(["month", "revenue"], MONTHS, { kind: "bar", x: "month", y: "revenue" });
    expect(bars?.points.map((p) => p.x)).toEqual(["2005-05", "2005-06", "2005-07", "2005-08", "2006-02"]);
    const line = buildChart(columns, listing, { kind: "line", x: "length", y: "rental_rate" });
    expect(line?.axis).toBe("value");
    expect(line?.points.map((p) => p.t)).toEqual([48, 50, 86]);
    expect(buildChart(columns, listing, { kind: "bar", x: "title", y: "film_id" })).toBeNull();
    expect(buildChart(columns, listing, { kind: "bar", x: "nope", y: "length" })).toBeNull();
    expect(buildChart(columns, listing, { kind: "bar", x: "length", y: "length" })).toBeNull();
  });

  it("keeps the largest bars when there are too many to name", () => {
    const many = Array.from({ length: MAX_BARS + 5 }, (_, i) => [`title ${i}`, i]);
    const spec = buildChart(["title", "n"], many, { kind: "bar", x: "title", y: "n" });
    expect(spec?.points).toHaveLength(MAX_BARS);
    expect(spec?.omitted).toBe(5);
    expect(spec?.points.at(-1)?.y).toBe(5);
  });
});

describe("chartOption", () => {
  it("names every category on horizontal bars, largest on top, with value labels", () => {
    const spec = chartFor(["category", "films"], CATEGORIES)!;
    const option = chartOption(spec, 390) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(option.yAxis.type).toBe("category");
    expect(option.yAxis.inverse).toBe(true);
    expect(option.yAxis.axisLabel.interval).toBe(0);
    expect(option.yAxis.axisLabel.fontSize).toBe(12);
    expect(option.yAxis.data[0]).toBe("Sports");
    expect(option.series[0].label.show).toBe(true);
    expect(option.series[0].label.formatter({ value: 74 })).toBe("74");
    expect(option.xAxis.axisTick.show).toBe(true);
    expect(chartHeight(spec)).toBeGreaterThanOrEqual(16 * 24);
  });

  it("puts a line on a time axis with dates written at the data's step", () => {
    const spec = chartFor(["month", "revenue"], MONTHS)!;
    const option = chartOption(spec, 1000) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(option.xAxis.type).toBe("time");
    expect(option.xAxis.axisLabel.formatter(new Date(2005, 6, 1).getTime())).toBe("2005-07");
    expect(option.series[0].data[0]).toEqual([new Date(2005, 4, 1).getTime(), 4824.43]);
    const tip = option.tooltip.formatter([{ value: [new Date(2005, 6, 1).getTime(), 28373.89] }]);
    expect(tip).toContain("2005-07");
    expect(tip).toContain("revenue");
  });

  it("escapes names in tooltips and keeps ticks short", () => {
    expect(escapeHtml('<img src=x onerror="a">')).not.toContain("<");
    const spec = chartFor(["name", "n"], [["<b>x</b>", 1], ["y", 2]])!; // prettier-ignore
    const option = chartOption(spec, 800) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(option.tooltip.formatter([{ name: "<b>x</b>", value: 1 }])).not.toContain("<b>x");
    expect(formatTick(28000)).not.toContain("000");
    expect(formatTick(250)).toBe("250");
  });
});
