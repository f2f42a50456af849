/** Positions for the schema map's nodes from elkjs's layered layout (foreign keys point back to the first layers). */
import type { ELK as ElkInstance } from "elkjs/lib/elk-api";
import type { GraphEdge, GraphNode } from "./schemaGraph";

export const NODE_WIDTH = 220;
/** Key columns drawn on a node; more are summarised as "+ n more". */
export const KEYS_SHOWN = 6;

/** A node's height: the title row, its key rows and the "more" row (matches TableNode's CSS). */
export function nodeHeight(node: GraphNode): number {
  const rows = Math.min(node.keys.length, KEYS_SHOWN) + (node.keys.length > KEYS_SHOWN ? 1 : 0);
  return 34 + rows * 18 + 8;
}

// elkjs (1.4 MB) is its own chunk, fetched the first time a map is laid out.
let elk: ElkInstance | null = null;

/** RIGHT: referenced tables left of the referencing ones (wide screens); DOWN: above them (phones). */
export type Direction = "RIGHT" | "DOWN";

export async function layout(
  nodes: GraphNode[],
  edges: GraphEdge[],
  direction: Direction = "RIGHT",
): Promise<Map<string, { x: number; y: number }>> {
  if (!elk) {
    const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
    elk = new ELK();
  }
  const result = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": direction,
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "30",
      "elk.spacing.componentComponent": "50",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
    },
    children: nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: nodeHeight(n) })),
    // The referenced table comes first (left or above): lookups (language, category) lead.
    edges: edges.map((e) => ({ id: e.id, sources: [e.target], targets: [e.source] })),
  });
  return new Map((result.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
}
