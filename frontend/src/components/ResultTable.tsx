import { useState } from "react";
import type { Cell } from "../api";
import { toCsv } from "../lib/csv";
import { Button } from "./ui";

export const PAGE_SIZE = 20;

function show(value: Cell): string {
  if (value === null) return "NULL";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export default function ResultTable({
  columns,
  rows,
  truncated,
  truncation,
}: {
  columns: string[];
  rows: Cell[][];
  truncated: boolean;
  truncation?: string | null;
}) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const visible = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);

  function download() {
    const blob = new Blob([toCsv(columns, rows)], { type: "text/csv;charset=utf-8" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "sextant-result.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  }

  return (
    <div className="flex flex-col gap-2">
      <div className="overflow-x-auto rounded border border-slate-200">
        <table className="w-full text-left text-xs" aria-label="Result rows">
          <thead className="bg-slate-100">
            <tr>
              {columns.map((c, i) => (
                <th key={i} scope="col" className="px-2 py-1 font-medium">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {visible.map((row, i) => (
              <tr key={i} className="border-t border-slate-100">
                {row.map((v, j) => (
                  <td key={j} className="mono max-w-72 truncate px-2 py-1">
                    {show(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="flex items-center gap-2 text-xs text-slate-600">
        <span>
          {rows.length} row{rows.length === 1 ? "" : "s"}
          {truncated ? ` (not the whole result: ${truncation ?? "only the first rows were fetched"})` : ""}
        </span>
        {pages > 1 && (
          <>
            <Button variant="secondary" onClick={() => setPage(page - 1)} disabled={page === 0}>
              Previous
            </Button>
            <span>
              Page {page + 1} of {pages}
            </span>
            <Button variant="secondary" onClick={() => setPage(page + 1)} disabled={page + 1 >= pages}>
              Next
            </Button>
          </>
        )}
        <Button variant="secondary" onClick={download}>
          Download CSV
        </Button>
      </div>
    </div>
  );
}
