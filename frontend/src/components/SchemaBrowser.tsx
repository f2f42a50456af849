import { useState } from "react";
import { Link } from "react-router-dom";
import type { Schema } from "../api";
import NoteEditor from "./NoteEditor";
import { Field, ScrollArea } from "./ui";

/** The sample rows' columns in the order of the column list above them; keys of no column last. */
export function sampleColumns(columns: string[], samples: Record<string, unknown>[]): string[] {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  return [...columns.filter((c) => keys.has(c)), ...[...keys].filter((k) => !columns.includes(k))];
}

export default function SchemaBrowser({ schema, connectionId }: { schema: Schema; connectionId: string }) {
  const [filter, setFilter] = useState("");
  const objects = schema.objects.filter((o) =>
    `${o.schema_name}.${o.name}`.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <section aria-label="Schema" className="flex flex-col gap-2">
      <div className="rounded border border-slate-200 bg-white p-2">
        <p className="text-sm font-medium text-slate-700">About this database</p>
        <NoteEditor connectionId={connectionId} note={schema.note} target="this database" />
      </div>
      <Field label="Filter tables" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <Link className="self-start text-sm text-blue-700 underline" to={`/connections/${connectionId}/map`}>
        Open the schema map
      </Link>
      {objects.map((o) => (
        <details key={`${o.schema_name}.${o.name}`} className="rounded border border-slate-200 bg-white p-2">
          <summary className="cursor-pointer text-sm">
            <span className="font-medium">
              {o.schema_name}.{o.name}
            </span>
            <span className="ml-2 text-slate-500">
              {o.kind.replace("_", " ")}
              {o.row_estimate !== null ? `, about ${o.row_estimate} rows` : ""}
            </span>
          </summary>
          {o.comment && <p className="mt-1 text-sm text-slate-600">{o.comment}</p>}
          <NoteEditor
            connectionId={connectionId}
            objectName={`${o.schema_name}.${o.name}`}
            note={o.note}
            target={`${o.schema_name}.${o.name}`}
          />
          <Link
            className="mt-1 inline-block text-xs text-blue-700 underline"
            to={`/chat?${new URLSearchParams({ connection: connectionId, q: `What is in ${o.schema_name}.${o.name}?` })}`}
          >
            Ask about {o.name}
          </Link>{" "}
          <Link
            className="mt-1 ml-2 inline-block text-xs text-blue-700 underline"
            to={`/connections/${connectionId}/map?${new URLSearchParams({ table: `${o.schema_name}.${o.name}` })}`}
          >
            Show {o.name} on the map
          </Link>
          <ScrollArea label={`Columns of ${o.name}`}>
            <table className="mt-2 w-full text-left text-xs">
              <thead>
                <tr className="text-slate-500">
                  <th>Column</th>
                  <th>Type</th>
                  <th>Key</th>
                  <th>Values</th>
                  <th>Note</th>
                </tr>
              </thead>
              <tbody>
                {o.columns.map((c) => {
                  const fk = o.foreign_keys.find((f) => f.columns.includes(c.name));
                  return (
                    <tr key={c.name} className="border-t border-slate-100">
                      <td className="mono py-0.5">
                        {c.name}
                        {c.pii && (
                          <span
                            className="ml-1 rounded bg-amber-100 px-1 text-amber-900"
                            title="Personal data: samples are masked"
                          >
                            {c.pii}
                          </span>
                        )}
                      </td>
                      <td>
                        {c.type}
                        {c.nullable ? "" : " not null"}
                      </td>
                      <td>
                        {o.primary_key.includes(c.name) ? "primary" : ""}
                        {fk ? ` → ${fk.target}` : ""}
                      </td>
                      <td className="text-slate-600">{c.values?.slice(0, 8).join(", ")}</td>
                      <td>
                        <NoteEditor
                          compact
                          connectionId={connectionId}
                          objectName={`${o.schema_name}.${o.name}`}
                          columnName={c.name}
                          note={c.note}
                          target={`${o.schema_name}.${o.name}.${c.name}`}
                        />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </ScrollArea>
          {o.samples.length > 0 && <SampleRows columns={o.columns.map((c) => c.name)} samples={o.samples} />}
        </details>
      ))}
    </section>
  );
}

function SampleRows({ columns, samples }: { columns: string[]; samples: Record<string, string | null>[] }) {
  const shown = sampleColumns(columns, samples);
  return (
    <ScrollArea label="Sample rows table" className="mt-2">
      <table className="text-xs" aria-label="Sample rows">
        <caption className="text-left font-medium text-slate-600">Sample rows</caption>
        <thead>
          <tr className="text-slate-500">
            {shown.map((c) => (
              <th key={c} className="mono pr-3 text-left font-normal">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {samples.map((s, i) => (
            <tr key={i}>
              {shown.map((c) => (
                <td key={c} className="mono max-w-48 truncate border-t border-slate-100 pr-3">
                  {s[c] ?? <span className="text-slate-500">NULL</span>}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollArea>
  );
}
