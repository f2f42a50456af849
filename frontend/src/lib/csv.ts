import type { Cell } from "../api";

function cellText(value: Cell): string {
  if (value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** RFC 4180 CSV; formulas are neutralised so a spreadsheet never runs data as code. */
export function toCsv(columns: string[], rows: Cell[][]): string {
  const escape = (text: string) => {
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return (
    [columns, ...rows.map((row) => row.map(cellText))].map((line) => line.map(escape).join(",")).join("\r\n") + "\r\n"
  );
}
