import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getPaginationRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingFn,
} from "@tanstack/react-table";
import { useMemo, useState } from "react";
import type { Cell } from "../api";
import { ID_LIKE } from "../lib/chart";
import { copyText } from "../lib/clipboard";
import { toCsv } from "../lib/csv";
import { Button } from "./ui";

export const PAGE_SIZE = 20;

const ISO_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$/;
const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });

/** A value as the table shows it: locale numbers (not for id-like columns), readable date-times,
 * JSON for structures; null is shown apart as NULL. */
export function display(value: Cell, column: string): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return ID_LIKE.test(column) ? String(value) : numbers.format(value);
  if (typeof value === "object") return JSON.stringify(value);
  const time = typeof value === "string" ? ISO_TIME.exec(value) : null;
  if (time) return time[2] === "00:00:00" && !time[3] ? time[1] : `${time[1]} ${time[2]}${time[4] ?? ""}`;
  return String(value);
}

/** Numbers by value, text by locale, NULL last whichever the direction. */
const byValue: SortingFn<Cell[]> = (a, b, id) => {
  const x = a.getValue<Cell>(id);
  const y = b.getValue<Cell>(id);
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  if (typeof x === "number" && typeof y === "number") return x - y;
  return String(typeof x === "object" ? JSON.stringify(x) : x).localeCompare(
    String(typeof y === "object" ? JSON.stringify(y) : y),
    undefined,
    { numeric: true },
  );
};

/** Rows as tab-separated text under a header line, as spreadsheets paste it; NULL is an empty cell. */
export function tsv(columns: string[], rows: Cell[][]): string {
  const cell = (v: Cell) => (v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  return [columns.join("\t"), ...rows.map((r) => r.map(cell).join("\t"))].join("\n");
}

function CopyIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 16 16" width="12" height="12" fill="none" stroke="currentColor">
      <rect x="5.5" y="5.5" width="8" height="9" rx="1" />
      <path d="M3.5 10.5h-1v-8a1 1 0 0 1 1-1h7v1" />
    </svg>
  );
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
  const [copied, setCopied] = useState<string | null>(null);
  const defs = useMemo<ColumnDef<Cell[]>[]>(
    () =>
      columns.map((name, i) => ({
        id: String(i),
        header: name,
        accessorFn: (row) => row[i] ?? null,
        sortingFn: byValue,
        sortUndefined: "last",
        sortDescFirst: false,
        filterFn: (row, id, wanted: string) =>
          display(row.getValue<Cell>(id), name).toLowerCase().includes(wanted.toLowerCase()),
      })),
    [columns],
  );
  // TanStack Table returns new functions each render, which the React compiler cannot memoise;
  // this component is not compiled, so that is fine.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable({
    data: rows,
    columns: defs,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getPaginationRowModel: getPaginationRowModel(),
    initialState: { pagination: { pageSize: PAGE_SIZE, pageIndex: 0 } },
    autoResetPageIndex: true,
  });
  const shown = table.getFilteredRowModel().rows.length;
  const pages = table.getPageCount() || 1;
  const page = table.getState().pagination.pageIndex;

  async function copy(text: string, what: string) {
    setCopied((await copyText(text)) ? `Copied ${what}.` : "This browser refused to copy; select the text instead.");
  }

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
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                <th scope="col" className="w-0 px-1 py-1 align-top">
                  <span className="sr-only">Copy row</span>
                </th>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  const name = String(header.column.columnDef.header);
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      className="px-2 py-1 align-top font-medium"
                      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                    >
                      <button
                        type="button"
                        className="whitespace-nowrap hover:underline"
                        onClick={header.column.getToggleSortingHandler()}
                        title={`Sort by ${name}`}
                      >
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        {sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}
                      </button>
                      <input
                        aria-label={`Filter ${name}`}
                        className="mt-1 block w-full min-w-16 rounded border border-slate-300 px-1 font-normal"
                        value={(header.column.getFilterValue() as string | undefined) ?? ""}
                        onChange={(e) => header.column.setFilterValue(e.target.value || undefined)}
                      />
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row, i) => (
              <tr key={row.id} className="border-t border-slate-100">
                <td className="w-0 px-1 py-1">
                  <button
                    type="button"
                    className="rounded p-0.5 text-slate-500 hover:bg-slate-200"
                    aria-label={`Copy row ${page * PAGE_SIZE + i + 1}`}
                    title="Copy this row with the header (tab-separated)"
                    onClick={() => copy(tsv(columns, [row.original]), "the row")}
                  >
                    <CopyIcon />
                  </button>
                </td>
                {row.getVisibleCells().map((cell) => {
                  const value = cell.getValue<Cell>();
                  const name = String(cell.column.columnDef.header);
                  const text = display(value, name);
                  return (
                    <td
                      key={cell.id}
                      className={`mono max-w-72 cursor-copy truncate px-2 py-1 ${typeof value === "number" ? "text-right tabular-nums" : ""}`}
                      title={`${text} (click to copy)`}
                      onClick={() => copy(value === null ? "" : text, "the cell")}
                    >
                      {value === null ? <span className="italic text-slate-500">NULL</span> : text}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="flex flex-wrap items-center gap-2 text-xs text-slate-600">
        <span>
          {rows.length} row{rows.length === 1 ? "" : "s"}
          {shown !== rows.length ? `, ${shown} match the filters` : ""}
          {truncated ? ` (not the whole result: ${truncation ?? "only the first rows were fetched"})` : ""}
        </span>
        {pages > 1 && (
          <>
            <Button variant="secondary" onClick={() => table.previousPage()} disabled={!table.getCanPreviousPage()}>
              Previous
            </Button>
            <span>
              Page {page + 1} of {pages}
            </span>
            <Button variant="secondary" onClick={() => table.nextPage()} disabled={!table.getCanNextPage()}>
              Next
            </Button>
          </>
        )}
        <Button
          variant="secondary"
          onClick={() =>
            copy(
              tsv(
                columns,
                table.getPrePaginationRowModel().rows.map((r) => r.original),
              ),
              "the table",
            )
          }
        >
          Copy table
        </Button>
        <Button variant="secondary" onClick={download}>
          Download CSV
        </Button>
        {copied && <span role="status">{copied}</span>}
      </div>
    </div>
  );
}
