import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useNodesInitialized,
  useReactFlow,
  type Edge,
  type NodeChange,
  applyNodeChanges,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { GraphEdge, GraphNode } from "../../lib/schemaGraph";
import { layout, NODE_WIDTH, nodeHeight } from "../../lib/schemaLayout";
import TableNode, { type TableFlowNode } from "./TableNode";

const NODE_TYPES = { table: TableNode };

interface Props {
  nodes: GraphNode[];
  edges: GraphEdge[];
  selected: string | null;
  highlighted: Set<string>;
  onSelect: (id: string) => void;
  /** Whether the view follows the selection by centring on it (small schemas) or fits the new neighbourhood. */
  centreOnSelect: boolean;
}

/** Whether the page is dark (lib/theme.ts puts `dark` on <html>), following changes of the theme. */
function useDarkPage(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const observer = new MutationObserver(onChange);
      observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
      return () => observer.disconnect();
    },
    () => document.documentElement.classList.contains("dark"),
  );
}

function Canvas({ nodes, edges, selected, highlighted, onSelect, centreOnSelect }: Props) {
  const flow = useReactFlow<TableFlowNode, Edge>();
  const [flowNodes, setFlowNodes] = useState<TableFlowNode[]>([]);
  const [laidOut, setLaidOut] = useState(0);
  const fitted = useRef(0);
  const initialised = useNodesInitialized();

  // Lay the nodes out again whenever the set of nodes or edges changes (not on selection).
  useEffect(() => {
    let cancelled = false;
    // A phone's map is taller than wide: layers then run top to bottom.
    const direction = window.innerWidth < 640 ? "DOWN" : "RIGHT";
    layout(nodes, edges, direction).then((positions) => {
      if (cancelled) return;
      setFlowNodes(
        nodes.map((n) => ({
          id: n.id,
          type: "table",
          position: positions.get(n.id) ?? { x: 0, y: 0 },
          data: { table: n, highlighted: false, chosen: false, direction },
          ariaLabel: `Table ${n.id}`,
        })),
      );
      setLaidOut((v) => v + 1);
    });
    return () => {
      cancelled = true;
    };
  }, [nodes, edges]);

  // Centres the map on one table, zooming in to at least 100 %.
  const centreOn = useCallback(
    (id: string) => {
      const node = flow.getNode(id);
      if (!node) return;
      const height = node.measured?.height ?? nodeHeight(node.data.table);
      flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + height / 2, {
        zoom: Math.max(flow.getZoom(), 1),
        duration: 300,
      });
    },
    [flow],
  );

  // Once the laid-out nodes are measured: centre the selected table (a whole schema drawn), or fit
  // the highlighted tables, or everything drawn, into view.
  useEffect(() => {
    if (!initialised || laidOut === 0 || fitted.current === laidOut) return;
    fitted.current = laidOut;
    if (centreOnSelect && selected) return centreOn(selected);
    const focus = flowNodes.filter((n) => highlighted.has(n.id)).map((n) => ({ id: n.id }));
    flow.fitView({ padding: 0.15, nodes: focus.length > 0 && centreOnSelect ? focus : undefined, maxZoom: 1.2 });
  }, [initialised, laidOut, flowNodes, highlighted, centreOnSelect, selected, centreOn, flow]);

  // A table picked afterwards by search or a reference is centred when the whole schema is drawn;
  // one picked on the map itself is in view already, and the map stays still.
  const pickedOnMap = useRef<string | null>(null);
  useEffect(() => {
    const onMap = selected === pickedOnMap.current;
    pickedOnMap.current = null;
    if (centreOnSelect && selected && fitted.current > 0 && !onMap) centreOn(selected);
  }, [selected, centreOnSelect, centreOn]);
  const pickOnMap = (id: string) => {
    pickedOnMap.current = id;
    onSelect(id);
  };

  const shownNodes = useMemo(
    () =>
      flowNodes.map((n) => ({
        ...n,
        selected: n.id === selected,
        data: { ...n.data, highlighted: highlighted.has(n.id), chosen: n.id === selected },
      })),
    [flowNodes, selected, highlighted],
  );
  const shownEdges = useMemo<Edge[]>(
    () =>
      edges.map((e) => {
        const lit =
          e.source === selected || e.target === selected || (highlighted.has(e.source) && highlighted.has(e.target));
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          ariaLabel: `Foreign key ${e.source} (${e.label}) to ${e.target}`,
          className: "schema-fk",
          markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
          style: lit ? { stroke: "#b45309", strokeWidth: 2 } : { stroke: "#64748b" },
          zIndex: lit ? 1 : 0,
        };
      }),
    [edges, selected, highlighted],
  );

  const dark = useDarkPage();
  return (
    <ReactFlow
      nodes={shownNodes}
      edges={shownEdges}
      nodeTypes={NODE_TYPES}
      onNodesChange={(changes: NodeChange<TableFlowNode>[]) => {
        // Selection is the page's (the URL's): a click, or Enter on a focused node, picks the table.
        const picked = changes.find((c) => c.type === "select" && c.selected);
        if (picked && picked.type === "select" && picked.id !== selected) pickOnMap(picked.id);
        setFlowNodes((current) =>
          applyNodeChanges(
            changes.filter((c) => c.type !== "select"),
            current,
          ),
        );
      }}
      onNodeClick={(_, node) => pickOnMap(node.id)}
      nodesConnectable={false}
      edgesFocusable={false}
      minZoom={0.05}
      maxZoom={2}
      colorMode={dark ? "dark" : "light"}
    >
      <Background gap={24} />
      <Controls showInteractive={false} aria-label="Zoom and fit" />
      <MiniMap
        className="max-sm:hidden"
        pannable
        zoomable
        ariaLabel="Mini map"
        nodeColor={(n) => (highlighted.has(n.id) ? "#f59e0b" : "#94a3b8")}
      />
    </ReactFlow>
  );
}

/** The drawn map: React Flow with an elkjs layered layout, zoom and fit controls and a mini map. */
export default function MapCanvas(props: Props) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}
