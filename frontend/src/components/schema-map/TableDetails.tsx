import { Link } from "react-router-dom";
import type { SchemaObject } from "../../lib/schemaGraph";

/** The clicked table: its columns and foreign keys both ways, and a question to ask about it. */
export default function TableDetails({
  object,
  connectionId,
  relations,
  onPick,
}: {
  object: SchemaObject;
  connectionId: string;
  relations: boolean;
  onPick: (id: string) => void;
}) {
  const id = `${object.schema_name}.${object.name}`;
  const ref = (target: string) => (
    <button type="button" className="mono text-blue-700 underline" onClick={() => onPick(target)}>
      {target}
    </button>
  );
  return (
    <section aria-label={`Table ${id}`} className="flex flex-col gap-2 text-xs" data-testid="map-details">
      <h2 className="text-sm font-medium break-all">{id}</h2>
      <p className="text-slate-600">
        {object.kind.replace("_", " ")}
        {object.row_estimate !== null ? `, about ${object.row_estimate} rows` : ""}
        {`, ${object.columns.length} columns`}
      </p>
      {object.comment && <p className="text-slate-600">{object.comment}</p>}
      <Link
        className="self-start rounded bg-blue-700 px-3 py-1 text-sm text-white hover:bg-blue-800"
        to={`/chat?${new URLSearchParams({ connection: connectionId, q: `What is in ${id}?` })}`}
      >
        Ask about {object.name}
      </Link>
      <table className="w-full text-left">
        <thead>
          <tr className="text-slate-500">
            <th className="font-normal">Column</th>
            <th className="font-normal">Type</th>
          </tr>
        </thead>
        <tbody>
          {object.columns.map((c) => (
            <tr key={c.name} className="border-t border-slate-100">
              <td className="mono py-0.5 pr-2 break-all">
                {c.name}
                {object.primary_key.includes(c.name) && (
                  <span className="ml-1 whitespace-nowrap text-slate-500">PK</span>
                )}
              </td>
              <td className="break-all">{c.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {relations ? (
        <>
          {object.foreign_keys.length > 0 && (
            <div>
              <h3 className="font-medium">References</h3>
              <ul>
                {object.foreign_keys.map((f) => (
                  <li key={f.name}>
                    <span className="mono">{f.columns.join(", ")}</span> → {ref(f.target)}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {object.referenced_by.length > 0 && (
            <div>
              <h3 className="font-medium">Referenced by</h3>
              <ul>
                {object.referenced_by.map((f) => (
                  <li key={`${f.source}:${f.name}`}>
                    {ref(f.source)} <span className="mono">({f.columns.join(", ")})</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      ) : (
        object.foreign_keys.length > 0 && (
          <p className="text-slate-600">
            Fields that look like references (guessed from sampled documents, not constraints):{" "}
            {object.foreign_keys.map((f) => `${f.columns.join(", ")} → ${f.target}`).join("; ")}
          </p>
        )
      )}
    </section>
  );
}
