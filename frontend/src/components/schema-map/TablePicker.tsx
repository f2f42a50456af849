import type { GraphNode } from "../../lib/schemaGraph";

/** A short list of tables to pick from (search results, or the most connected ones of a large schema). */
export default function TablePicker({
  label,
  tables,
  selected,
  onPick,
}: {
  label: string;
  tables: GraphNode[];
  selected: string | null;
  onPick: (id: string) => void;
}) {
  return (
    <nav aria-label={label} className="text-xs">
      <h2 className="font-medium text-slate-600">{label}</h2>
      {tables.length === 0 ? (
        <p className="text-slate-500">No table matches.</p>
      ) : (
        <ul className="flex flex-wrap gap-1">
          {tables.map((t) => (
            <li key={t.id}>
              <button
                type="button"
                onClick={() => onPick(t.id)}
                aria-current={t.id === selected ? "true" : undefined}
                className={`mono rounded border px-2 py-0.5 ${t.id === selected ? "border-blue-700 bg-blue-50" : "border-slate-300 hover:bg-slate-100"}`}
              >
                {t.id}
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
