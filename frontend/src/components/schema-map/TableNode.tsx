import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { KEYS_SHOWN, type Direction } from "../../lib/schemaLayout";
import type { GraphNode } from "../../lib/schemaGraph";

export type TableNodeData = { table: GraphNode; highlighted: boolean; chosen: boolean; direction: Direction };
export type TableFlowNode = Node<TableNodeData, "table">;

/** A table on the map: its name, kind, and key columns (primary and foreign). */
export default function TableNode({ data }: NodeProps<TableFlowNode>) {
  const { table, highlighted, chosen, direction } = data;
  const down = direction === "DOWN";
  const ring = chosen ? "ring-2 ring-blue-600" : highlighted ? "ring-2 ring-amber-500" : "";
  return (
    <div
      className={`w-[220px] rounded border bg-white text-xs shadow-sm ${highlighted ? "border-amber-500" : "border-slate-300"} ${ring}`}
      data-testid="map-node"
      data-table={table.id}
      data-highlighted={highlighted ? "true" : "false"}
      data-selected={chosen ? "true" : "false"}
    >
      {/* Foreign keys leave the referencing table towards the referenced one, laid out before it. */}
      <Handle type="source" position={down ? Position.Top : Position.Left} isConnectable={false} />
      <Handle type="target" position={down ? Position.Bottom : Position.Right} isConnectable={false} />
      <div
        className={`flex items-baseline gap-1 rounded-t border-b border-slate-200 px-2 py-1.5 ${highlighted ? "bg-amber-50" : "bg-slate-100"}`}
      >
        <span className="truncate font-medium text-slate-900" title={table.id}>
          {table.name}
        </span>
        <span className="ml-auto shrink-0 text-[10px] text-slate-600">
          {table.kind === "table" || table.kind === "collection" ? table.schema : table.kind.replace("_", " ")}
        </span>
      </div>
      <ul className="px-2 py-1">
        {table.keys.slice(0, KEYS_SHOWN).map((k) => (
          <li key={k.name} className="mono flex h-[18px] items-center gap-1 truncate text-slate-700">
            <span className="w-6 shrink-0 text-[10px] text-slate-500">{k.primary ? "PK" : "FK"}</span>
            <span className="truncate">{k.name}</span>
          </li>
        ))}
        {table.keys.length > KEYS_SHOWN && (
          <li className="h-[18px] text-slate-500">+ {table.keys.length - KEYS_SHOWN} more keys</li>
        )}
      </ul>
    </div>
  );
}
