import { useCallback, useEffect, useState } from "react";
import { ApiError, type AdminConnection, type AdminUser, type AuditAction, type AuditEvent } from "../api";
import { useAuth } from "../auth";
import { Alert, SelectField, StatusBadge } from "../components/ui";

// Every audit action the backend records; the Record type makes the compiler check the list.
const ACTION_SEEN: Record<AuditAction, true> = {
  login: true,
  signup: true,
  logout: true,
  password_change: true,
  user_update: true,
  settings_update: true,
  connection_create: true,
  connection_update: true,
  connection_delete: true,
  connection_sync: true,
  query: true,
  query_refused: true,
};
const ACTIONS = ["", ...Object.keys(ACTION_SEEN)];

export default function AdminPage() {
  const { api, email } = useAuth();
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [signup, setSignup] = useState<boolean | null>(null);
  const [connections, setConnections] = useState<AdminConnection[]>([]);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [action, setAction] = useState("");
  const [error, setError] = useState<string | null>(null);

  const fail = (err: unknown) => setError(err instanceof ApiError ? err.message : "The request failed.");
  const load = useCallback(() => {
    api.adminUsers().then(setUsers).catch(fail);
    api
      .adminSettings()
      .then((s) => setSignup(s.allow_signup))
      .catch(fail);
    api.adminConnections().then(setConnections).catch(fail);
  }, [api]);
  useEffect(load, [load]);
  useEffect(() => {
    api
      .audit(action || undefined)
      .then((page) => setEvents(page.items))
      .catch(fail);
  }, [api, action]);

  async function update(user: AdminUser, patch: { role?: "admin" | "user"; disabled?: boolean }) {
    setError(null);
    try {
      await api.updateUser(user.id, patch);
      load();
    } catch (err) {
      fail(err);
    }
  }

  async function toggleSignup(open: boolean) {
    setSignup(open);
    try {
      setSignup((await api.saveAdminSettings(open)).allow_signup);
    } catch (err) {
      setSignup(!open);
      fail(err);
    }
  }

  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Admin</h1>
      {error && <Alert>{error}</Alert>}
      <section aria-labelledby="signup-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="signup-title" className="mb-2 font-medium">
          Sign-up
        </h2>
        {signup !== null && (
          <div className="flex items-center gap-2">
            <input
              id="allow-signup"
              type="checkbox"
              checked={signup}
              onChange={(e) => toggleSignup(e.target.checked)}
            />
            <label htmlFor="allow-signup" className="text-sm">
              Anyone who reaches this server may create an account
            </label>
          </div>
        )}
      </section>
      <section aria-labelledby="users-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="users-title" className="mb-2 font-medium">
          Users
        </h2>
        <table className="w-full text-left text-sm">
          <thead>
            <tr className="text-slate-500">
              <th className="py-1">Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Since</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} className="border-t border-slate-100">
                <td className="py-1">{u.email}</td>
                <td>
                  <label className="sr-only" htmlFor={`role-${u.id}`}>
                    Role of {u.email}
                  </label>
                  <select
                    id={`role-${u.id}`}
                    value={u.role}
                    disabled={u.email === email}
                    onChange={(e) => update(u, { role: e.target.value as "admin" | "user" })}
                    className="rounded border border-slate-300 bg-white px-2 py-1 text-sm"
                  >
                    <option value="user">user</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>{u.disabled ? "disabled" : "active"}</td>
                <td>{new Date(u.created_at).toLocaleDateString()}</td>
                <td>
                  {u.email !== email && (
                    <button
                      type="button"
                      className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100"
                      onClick={() => update(u, { disabled: !u.disabled })}
                    >
                      {u.disabled ? `Enable ${u.email}` : `Disable ${u.email}`}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="all-connections-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="all-connections-title" className="mb-2 font-medium">
          All connections
        </h2>
        <table className="w-full text-left text-sm">
          <thead>
            <tr className="text-slate-500">
              <th className="py-1">Name</th>
              <th>Owner</th>
              <th>Kind</th>
              <th>Status</th>
              <th>Tables</th>
            </tr>
          </thead>
          <tbody>
            {connections.map((c) => (
              <tr key={c.id} className="border-t border-slate-100">
                <td className="py-1">{c.name}</td>
                <td>{c.owner_email}</td>
                <td>{c.kind}</td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td>{c.object_count ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section
        aria-labelledby="audit-title"
        className="flex flex-col gap-2 rounded border border-slate-200 bg-white p-4"
      >
        <h2 id="audit-title" className="font-medium">
          Audit trail
        </h2>
        <div className="max-w-xs">
          <SelectField label="Action" value={action} onChange={(e) => setAction(e.target.value)}>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a || "all"}
              </option>
            ))}
          </SelectField>
        </div>
        <table className="w-full text-left text-xs" aria-label="Audit events">
          <thead>
            <tr className="text-slate-500">
              <th className="py-1">When</th>
              <th>Who</th>
              <th>Action</th>
              <th>From</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} className={`border-t border-slate-100 ${e.success ? "" : "text-red-800"}`}>
                <td className="py-1">{new Date(e.at).toLocaleString()}</td>
                <td>{e.actor_email}</td>
                <td>
                  {e.action}
                  {e.success ? "" : " (failed)"}
                </td>
                <td>{e.client_ip}</td>
                <td className="mono max-w-md truncate">
                  {String(e.details.query ?? e.details.reason ?? e.target ?? "")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
