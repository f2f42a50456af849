import { useState } from "react";
import { ApiError, type AdminUser, type AuditAction, type AuditEvent } from "../api";
import { useAuth } from "../auth";
import { Alert, ScrollArea, SelectField, StatusBadge } from "../components/ui";
import {
  errorText,
  useAdminConnections,
  useAdminSettings,
  useAdminUsers,
  useAudit,
  useSaveAdminSettings,
  useUpdateUser,
} from "../lib/queries";

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
  answer_cache_hit: true,
  feedback: true,
  api_token_create: true,
  api_token_revoke: true,
  api_token_use: true,
  example_create: true,
  example_update: true,
  example_delete: true,
  example_import: true,
  note_update: true,
  note_delete: true,
};
const ACTIONS = ["", ...Object.keys(ACTION_SEEN)];
const PAGE = 50;

type Pending = { user: AdminUser; patch: { role?: "admin" | "user"; disabled?: boolean }; text: string };

/** What an audit row says in one cell: the query and, for a failure, why. */
function eventDetail(e: AuditEvent): string {
  const d = e.details as Record<string, unknown>;
  if (e.action === "feedback") return d.rating ? `rated ${String(d.rating)}` : "rating cleared";
  if (e.action === "api_token_use") {
    const use = `token “${String(d.token_name ?? "")}”: ${String(d.route ?? "")}`;
    return e.success ? use : `${use} — refused: ${String(d.error ?? "")}`;
  }
  if (e.action === "example_import")
    return `imported ${String(d.imported)}, skipped ${String(d.skipped)}, refused ${String(d.refused)}`;
  if (e.action === "note_update" || e.action === "note_delete") {
    const target = [d.object, d.column].filter(Boolean).map(String).join(".") || "the connection";
    return `note on ${target}` + (e.action === "note_delete" ? " deleted" : "");
  }
  const what = String(d.query ?? d.name ?? "");
  const why = e.success ? "" : String(d.error ?? d.reason ?? "");
  return [what, why && `refused: ${why}`].filter(Boolean).join(" — ");
}

export default function AdminPage() {
  const { email } = useAuth();
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [offset, setOffset] = useState(0);
  const usersQuery = useAdminUsers();
  const settingsQuery = useAdminSettings();
  const connectionsQuery = useAdminConnections();
  const auditQuery = useAudit({ action, actor_id: actor, offset, limit: PAGE });
  const updateUser = useUpdateUser();
  const saveSettings = useSaveAdminSettings();
  const users = usersQuery.data ?? [];
  // While a change of the sign-up switch is saved, the switch shows it; a failure puts it back.
  // Set in the click's own render: a controlled checkbox whose state waits for the mutation's
  // (batched) notification is put back by React first, and reads as a click that did nothing.
  const [saving, setSaving] = useState<boolean | null>(null);
  const signup = saving ?? settingsQuery.data?.allow_signup ?? null;
  const connections = connectionsQuery.data ?? [];
  const events = auditQuery.data?.items ?? [];
  const total = auditQuery.data?.total ?? 0;
  const [pending, setPending] = useState<Pending | null>(null);
  const [failed, setError] = useState<string | null>(null);
  const error =
    failed ??
    errorText(
      usersQuery.error ?? settingsQuery.error ?? connectionsQuery.error ?? auditQuery.error,
      "The request failed.",
    );

  const fail = (err: unknown) => setError(err instanceof ApiError ? err.message : "The request failed.");

  // Role changes and disabling take effect at once (disabling ends every session of the account),
  // so each is confirmed first.
  function ask(user: AdminUser, patch: Pending["patch"]) {
    const text =
      patch.disabled === true
        ? `Disable ${user.email}? Their sessions end now and they cannot log in until enabled again.`
        : patch.disabled === false
          ? `Enable ${user.email}? They can log in again.`
          : `Make ${user.email} ${patch.role === "admin" ? "an administrator" : "a user without admin rights"}?`;
    setPending({ user, patch, text });
  }

  async function confirm() {
    if (!pending) return;
    setError(null);
    try {
      await updateUser.mutateAsync({ id: pending.user.id, patch: pending.patch });
    } catch (err) {
      fail(err);
    } finally {
      setPending(null);
    }
  }

  async function toggleSignup(open: boolean) {
    setError(null);
    setSaving(open);
    try {
      await saveSettings.mutateAsync(open);
    } catch (err) {
      fail(err);
    } finally {
      setSaving(null);
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
        {pending && (
          <div
            role="alertdialog"
            aria-label="Confirm"
            className="mb-2 flex flex-wrap items-center gap-2 rounded border border-amber-300 bg-amber-50 p-2 text-sm"
          >
            <span>{pending.text}</span>
            <button type="button" className="rounded bg-blue-700 px-2 py-1 text-white" onClick={confirm} autoFocus>
              Confirm
            </button>
            <button
              type="button"
              className="rounded border border-slate-300 px-2 py-1"
              onClick={() => setPending(null)}
            >
              Cancel
            </button>
          </div>
        )}
        <ScrollArea label="Users table">
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="text-slate-500">
                <th className="py-1">Email</th>
                <th>Role</th>
                <th>Status</th>
                <th>Since</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
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
                      onChange={(e) => ask(u, { role: e.target.value as "admin" | "user" })}
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
                        onClick={() => ask(u, { disabled: !u.disabled })}
                      >
                        {u.disabled ? `Enable ${u.email}` : `Disable ${u.email}`}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollArea>
      </section>
      <section aria-labelledby="all-connections-title" className="rounded border border-slate-200 bg-white p-4">
        <h2 id="all-connections-title" className="mb-2 font-medium">
          All connections
        </h2>
        <ScrollArea label="All connections table">
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="text-slate-500">
                <th className="py-1">Name</th>
                <th>Owner</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Tables</th>
                <th>Feedback</th>
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
                  <td data-testid="feedback-counts">
                    {c.feedback_up ?? 0} good · {c.feedback_down ?? 0} bad
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollArea>
      </section>
      <section
        aria-labelledby="audit-title"
        className="flex flex-col gap-2 rounded border border-slate-200 bg-white p-4"
      >
        <h2 id="audit-title" className="font-medium">
          Audit trail
        </h2>
        <div className="flex flex-wrap gap-4">
          <div className="w-48">
            <SelectField
              label="Action"
              value={action}
              onChange={(e) => {
                setAction(e.target.value);
                setOffset(0);
              }}
            >
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a || "all"}
                </option>
              ))}
            </SelectField>
          </div>
          <div className="w-64">
            <SelectField
              label="User"
              value={actor}
              onChange={(e) => {
                setActor(e.target.value);
                setOffset(0);
              }}
            >
              <option value="">everyone</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.email}
                </option>
              ))}
            </SelectField>
          </div>
        </div>
        <ScrollArea label="Audit events table">
          <table className="w-full text-left text-xs" aria-label="Audit events">
            <thead>
              <tr className="text-slate-500">
                <th className="py-1">When</th>
                <th>Who</th>
                <th>Action</th>
                <th>On</th>
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
                  <td>{e.target_name ?? e.target?.replace(/^user:/, "") ?? ""}</td>
                  <td>{e.client_ip}</td>
                  <td className="mono max-w-md truncate" title={eventDetail(e)}>
                    {eventDetail(e)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollArea>
        <div className="flex items-center gap-2 text-xs text-slate-600">
          <span>
            {total === 0 ? "No events" : `Events ${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}`}
          </span>
          <button
            type="button"
            className="rounded border border-slate-300 px-2 py-1 disabled:opacity-50"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            Newer
          </button>
          <button
            type="button"
            className="rounded border border-slate-300 px-2 py-1 disabled:opacity-50"
            disabled={offset + PAGE >= total}
            onClick={() => setOffset(offset + PAGE)}
          >
            Older
          </button>
        </div>
      </section>
    </div>
  );
}
