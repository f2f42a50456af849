// The typed client of Sextant's HTTP API (../shared/DESIGN.md). Every failure becomes an
// ApiError whose message is a sentence a person can read.
import { parseSse, type SseEvent } from "./lib/sse";

export type Kind = "postgres" | "mongodb";
export type JobStatus = "pending" | "running" | "succeeded" | "failed";

export interface User { id: string; email: string; role: string }
export interface Token { access_token: string; token_type: string; expires_in: number }
export interface Connection {
  id: string; name: string; kind: Kind; url: string; server_version: string | null;
  indexed_at: string | null; created_at: string; status: JobStatus | null; object_count: number | null;
}
export interface SyncStatus {
  job_id: string; status: JobStatus; progress: { done: number; total: number };
  counts: Record<string, number>; error: string | null; started_at: string | null; finished_at: string | null;
}
export interface Column { name: string; type: string; nullable: boolean; comment: string | null; values: string[] | null; default: string | null; generated: string | null; pii: string | null }
export interface ForeignKey { name: string; source: string; columns: string[]; target: string; ref_columns: string[] }
export interface DbObject {
  schema_name: string; name: string; kind: string; comment: string | null; row_estimate: number | null;
  columns: Column[]; primary_key: string[]; foreign_keys: ForeignKey[]; referenced_by: ForeignKey[];
  samples: Record<string, string | null>[]; indexes: string[]; notes: string[];
}
export interface Schema { connection_id: string; kind: string; server_version: string | null; objects: DbObject[] }
export interface Source { object: string; kind: string; score: number; via: "search" | "join" }
export type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };
export interface QueryResult {
  answer: string; query: string | null; language: "sql" | "mongo"; columns: string[]; rows: Cell[][];
  row_count: number; truncated: boolean; truncation?: string | null; sources: Source[]; timings: Record<string, number>; model: string;
  history_id: string | null; conversation_id: string; executed: boolean; error: string | null;
}
export interface HistoryItem {
  id: string; connection_id: string | null; conversation_id: string; question: string; answer: string | null;
  query: string | null; language: string | null; row_count: number | null; error: string | null; created_at: string;
}
export interface Settings { model: string; top_k: number; sample_rows: number; execute_queries: boolean }
export interface Health { status: "ok" | "degraded"; components: Record<string, "ok" | "unavailable"> }
export interface Models { default: string; models: { name: string; parameter_size: string | null }[] }

export interface AdminUser { id: string; email: string; role: "admin" | "user"; disabled: boolean; created_at: string }
export interface AdminConnection {
  id: string; name: string; kind: Kind; owner_email: string; status: JobStatus | null; indexed_at: string | null; object_count: number | null;
}
export interface AuditEvent {
  id: number; at: string; actor_email: string | null; action: string; target: string | null; client_ip: string | null;
  success: boolean; details: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

type Unauthorized = () => void;

export class Api {
  constructor(private token: string | null, private onUnauthorized: Unauthorized = () => {}) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError("Sextant's server did not answer. Is it running?", 0);
    }
    if (response.status === 401 && this.token) this.onUnauthorized();
    if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  register = (email: string, password: string) => this.request<User>("POST", "/api/auth/register", { email, password });
  login = (email: string, password: string) => this.request<Token>("POST", "/api/auth/login", { email, password });
  me = () => this.request<User>("GET", "/api/auth/me");
  logout = () => this.request<void>("POST", "/api/auth/logout");
  changePassword = (current_password: string, new_password: string) =>
    this.request<void>("POST", "/api/auth/password", { current_password, new_password });
  health = () => this.request<Health>("GET", "/health");
  connections = () => this.request<Connection[]>("GET", "/api/connections");
  testConnection = (kind: Kind, url: string) =>
    this.request<{ ok: boolean; server_version: string | null; error: string | null }>("POST", "/api/connections/test", { kind, url });
  createConnection = (name: string, kind: Kind, url: string) => this.request<Connection>("POST", "/api/connections", { name, kind, url });
  deleteConnection = (id: string) => this.request<void>("DELETE", `/api/connections/${id}`);
  sync = (id: string) => this.request<{ job_id: string }>("POST", `/api/connections/${id}/sync`);
  syncStatus = (id: string) => this.request<SyncStatus>("GET", `/api/connections/${id}/sync`);
  schema = (id: string) => this.request<Schema>("GET", `/api/connections/${id}/schema`);
  history = (params: { connection_id?: string; conversation_id?: string; limit?: number } = {}) => {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.request<{ items: HistoryItem[]; total: number }>("GET", `/api/history?${query}`);
  };
  deleteHistory = (id: string) => this.request<void>("DELETE", `/api/history/${id}`);
  settings = () => this.request<Settings>("GET", "/api/settings");
  saveSettings = (settings: Partial<Settings>) => this.request<Settings>("PUT", "/api/settings", settings);
  models = () => this.request<Models>("GET", "/api/models");
  adminUsers = () => this.request<AdminUser[]>("GET", "/api/admin/users");
  updateUser = (id: string, patch: { role?: "admin" | "user"; disabled?: boolean }) =>
    this.request<AdminUser>("PATCH", `/api/admin/users/${id}`, patch);
  adminSettings = () => this.request<{ allow_signup: boolean }>("GET", "/api/admin/settings");
  saveAdminSettings = (allow_signup: boolean) => this.request<{ allow_signup: boolean }>("PUT", "/api/admin/settings", { allow_signup });
  adminConnections = () => this.request<AdminConnection[]>("GET", "/api/admin/connections");
  audit = (action?: string) =>
    this.request<{ items: AuditEvent[]; total: number }>("GET", `/api/audit?limit=50${action ? `&action=${encodeURIComponent(action)}` : ""}`);

  /** POST /api/query/stream; calls `onEvent` for each Server-Sent Event as it arrives. */
  async ask(body: { connection_id: string; question: string; conversation_id?: string }, onEvent: (event: SseEvent) => void): Promise<void> {
    let response: Response;
    try {
      response = await fetch("/api/query/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", Authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
      });
    } catch {
      throw new ApiError("Sextant's server did not answer. Is it running?", 0);
    }
    if (response.status === 401) this.onUnauthorized();
    if (!response.ok || !response.body) throw new ApiError(await errorMessage(response), response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const { events, rest } = parseSse(buffer);
      buffer = rest;
      events.forEach(onEvent);
    }
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to a sentence about the status
  }
  if (response.status >= 500) return "Sextant's server had a problem. Try again in a moment.";
  return `The request failed (${response.status}).`;
}
