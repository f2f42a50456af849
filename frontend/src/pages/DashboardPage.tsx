import { Link } from "react-router-dom";
import { Alert, ScrollArea, StatusBadge } from "../components/ui";
import { errorText, useConnections, useHealth, useHistoryList } from "../lib/queries";

const COMPONENT_NAMES: Record<string, string> = {
  database: "Database",
  embedding: "Embedding service",
  llm: "Language model",
};

export default function DashboardPage() {
  const connectionsQuery = useConnections();
  const historyQuery = useHistoryList(8);
  const healthQuery = useHealth();
  const connections = connectionsQuery.data ?? null;
  const history = historyQuery.data ?? [];
  const health = healthQuery.data ?? null;
  const error = errorText(
    connectionsQuery.error ?? historyQuery.error ?? healthQuery.error,
    "Could not load the dashboard.",
  );

  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Dashboard</h1>
      {error && <Alert>{error}</Alert>}
      <section aria-labelledby="health-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="health-title" className="mb-2 font-medium">
          Health
        </h2>
        {health ? (
          <ul className="flex flex-wrap gap-4 text-sm">
            {Object.entries(health.components).map(([name, state]) => (
              <li key={name} data-testid={`health-${name}`}>
                <span
                  className={`mr-1 inline-block h-2 w-2 rounded-full ${state === "ok" ? "bg-green-600" : "bg-red-600"}`}
                />
                {COMPONENT_NAMES[name] ?? name}: {state === "ok" ? "working" : "unavailable"}
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-sm text-slate-500">Checking…</p>
        )}
      </section>
      <section aria-labelledby="connections-title" className="rounded border border-slate-200 bg-white p-4">
        <div className="mb-2 flex items-center">
          <h2 id="connections-title" className="font-medium">
            Connections
          </h2>
          <Link to="/connections" className="ml-auto text-sm text-blue-700 underline">
            Manage connections
          </Link>
        </div>
        {connections && connections.length === 0 && (
          <p className="text-sm text-slate-600">
            No connections yet.{" "}
            <Link className="text-blue-700 underline" to="/connections">
              Add your first database.
            </Link>
          </p>
        )}
        {connections && connections.length > 0 && (
          <ScrollArea label="Connections table">
            <table className="w-full text-left text-sm">
              <thead>
                <tr className="text-slate-500">
                  <th className="py-1">Name</th>
                  <th>Kind</th>
                  <th>Status</th>
                  <th>Last indexed</th>
                  <th>Tables / collections</th>
                </tr>
              </thead>
              <tbody>
                {connections.map((c) => (
                  <tr key={c.id} className="border-t border-slate-100">
                    <td className="py-1">{c.name}</td>
                    <td>{c.kind === "postgres" ? "PostgreSQL" : "MongoDB"}</td>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>{c.indexed_at ? new Date(c.indexed_at).toLocaleString() : "—"}</td>
                    <td>{c.object_count ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollArea>
        )}
      </section>
      <section aria-labelledby="recent-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="recent-title" className="mb-2 font-medium">
          Recent questions
        </h2>
        {history.length === 0 ? (
          <p className="text-sm text-slate-600">No questions asked yet.</p>
        ) : (
          <ul className="flex flex-col gap-1 text-sm">
            {history.map((h) => (
              <li key={h.id}>
                <Link
                  className="text-blue-700 underline"
                  to={`/chat?conversation=${h.conversation_id}&connection=${h.connection_id ?? ""}`}
                >
                  {h.question}
                </Link>
                <span className="ml-2 text-slate-500">{new Date(h.created_at).toLocaleString()}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
