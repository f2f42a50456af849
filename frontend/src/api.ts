// The typed client of Sextant's HTTP API (docs/DESIGN.md). Every failure becomes an
// ApiError whose message is a sentence a person can read.
import type { components } from "./generated/api-schema";
import { parseSse } from "./lib/sse";

// The API's types are generated from the backend's OpenAPI schema (openapi.json, `npm run gen:api`;
// `make test` fails when they are stale). Edit the backend's models, never these aliases' shapes.
type Schemas = components["schemas"];

/**
 * A response as the backend sends it. Pydantic serializes every field, those with defaults too, but
 * its schema marks fields with defaults optional; Sent<T> makes them required, at every depth.
 */
export type Sent<T> = T extends (infer U)[]
  ? Sent<U>[]
  : T extends object
    ? { [K in keyof T]-?: Sent<Exclude<T[K], undefined>> }
    : T;

export type Kind = Schemas["ConnectionIn"]["kind"];
export type JobStatus = Schemas["SyncStatus"]["status"];
export type SyncMode = Schemas["SyncStatus"]["mode"];
export type ConnectionUpdate = Schemas["ConnectionUpdate"];

export type User = Sent<Schemas["UserOut"]>;
export type Token = Sent<Schemas["TokenOut"]>;
export type Signup = Sent<Schemas["SignupOut"]>;
export type Connection = Sent<Schemas["ConnectionOut"]>;
export type ConnectionTest = Sent<Schemas["ConnectionTestOut"]>;
export type SyncStarted = Sent<Schemas["SyncStarted"]>;
export type SyncStatus = Sent<Schemas["SyncStatus"]>;
export type Column = Sent<Schemas["ColumnInfo"]>;
export type ForeignKey = Sent<Schemas["ForeignKeyInfo"]>;
export type DbObject = Sent<Schemas["ObjectInfo"]>;
export type Schema = Sent<Schemas["SchemaOut"]>;
export type Source = Sent<Schemas["Source"]>;
/** A stored turn, its rows typed as JSON cells like a live answer's. */
export type HistoryItem = Omit<Sent<Schemas["HistoryItem"]>, "rows"> & { rows: Cell[][] };
/** The chart chosen for an answer (null on a HistoryItem: the automatic one). */
export type ChartChoice = Schemas["ChartChoice"];
export type ChartKind = ChartChoice["kind"];
/** A thumbs up or down on an answer, with an optional comment. */
export type FeedbackIn = Schemas["FeedbackIn"];
export type Rating = FeedbackIn["rating"];
export type Feedback = Sent<Schemas["FeedbackOut"]>;
export type HistoryPage = Omit<Sent<Schemas["HistoryOut"]>, "items"> & { items: HistoryItem[] };
export type Settings = Sent<Schemas["UserSettingsOut"]>;
export type SettingsPatch = Schemas["UserSettingsIn"];
export type Health = Sent<Schemas["HealthOut"]>;
export type Models = Sent<Schemas["ModelsOut"]>;
export type AdminUser = Sent<Schemas["AdminUserOut"]>;
export type AdminUserPatch = Schemas["AdminUserPatch"];
export type AdminSettings = Sent<Schemas["AdminSettings"]>;
export type AdminConnection = Sent<Schemas["AdminConnectionOut"]>;
export type AuditEvent = Sent<Schemas["AuditEventOut"]>;
export type AuditPage = Sent<Schemas["AuditPage"]>;
export type ApiToken = Sent<Schemas["ApiTokenOut"]>;
export type ApiTokenCreated = Sent<Schemas["ApiTokenCreated"]>;
export type ApiTokenIn = Schemas["ApiTokenIn"];
export type TokenScope = ApiTokenIn["scope"];
export type QueryRequest = Schemas["QueryIn"];
/** A person's query for POST /api/query/run: `edited_from` a history entry, or typed. */
export type QueryRunRequest = Schemas["QueryRunIn"];
/** How a history entry's query came to be. */
export type Origin = NonNullable<Schemas["HistoryItem"]["origin"]>;

/** A JSON value, as a cell of a result row (the schema says `unknown`: any JSON value). */
export type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };
/** The answer of /api/query (and the stream's `done` event), with its rows typed as JSON cells. */
export type QueryResult = Omit<Sent<Schemas["QueryOut"]>, "rows"> & { rows: Cell[][] };
/** The steps of a question, as `QueryResult.timings` names them. */
export type Step = keyof QueryResult["timings"];
/** Why a question got no (complete) answer, for programs (the sentence is in `error`). */
export type ErrorCode = NonNullable<QueryResult["error_code"]>;
export type AuditAction = AuditEvent["action"];
/** A verified example: a question and the query that answers it, checked and run before it was kept. */
export type Example = Sent<Schemas["ExampleOut"]>;
export type ExampleIn = Schemas["ExampleIn"];
export type ExampleUpdate = Schemas["ExampleUpdate"];
/** A query checked and run read-only without saving (a refusal is `error`). */
export type ExampleCheck = Omit<Sent<Schemas["ExampleCheckOut"]>, "rows"> & { rows: Cell[][] };
export type ExampleFormat = Schemas["ExampleImportIn"]["format"];
export type ExampleImport = Sent<Schemas["ExampleImportOut"]>;
export type Suggestion = Sent<Schemas["Suggestion"]>;

/** A connection's evaluation set and its import (JSONL or CSV text, read in the browser). */
export type EvaluationSet = Sent<Schemas["EvaluationSetOut"]>;
export type EvaluationImport = Schemas["EvaluationImportIn"];
export type EvaluationImportResult = Sent<Schemas["EvaluationImportOut"]>;
export type EvaluationRunRequest = Schemas["EvaluationRunIn"];
export type EvaluationRun = Sent<Schemas["EvaluationRunOut"]>;
export type RunStatus = EvaluationRun["status"];
/** What the screen shows of a comparison, its rows typed as JSON cells. */
export type EvaluationDiff = Omit<Sent<Schemas["EvaluationDiff"]>, "only_expected" | "only_generated"> & {
  only_expected: Cell[][];
  only_generated: Cell[][];
};
export type EvaluationResult = Omit<Sent<Schemas["EvaluationResultOut"]>, "diff"> & { diff: EvaluationDiff };
export type Outcome = EvaluationResult["outcome"];
export type EvaluationRunDetail = Omit<Sent<Schemas["EvaluationRunDetail"]>, "results"> & {
  results: EvaluationResult[];
};

type Rows<T> = Omit<T, "rows"> & { rows: Cell[][] };
/** One event of /api/query/stream: the backend's AskEvent union, discriminated by `event`. */
export type AskEvent =
  | Sent<Schemas["StepEvent"]>
  | Sent<Schemas["SourcesEvent"]>
  | Sent<Schemas["QueryEvent"]>
  | Rows<Sent<Schemas["RowsEvent"]>>
  | Sent<Schemas["TokenEvent"]>
  | Sent<Schemas["ErrorEvent"]>
  | (Omit<Sent<Schemas["DoneEvent"]>, "result"> & { result: QueryResult });

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Called with the server's reason when it stops accepting the session (a 401). */
type Unauthorized = (detail: string) => void;

// The readable half of the browser session (backend/api/session_cookie.py): state-changing
// requests repeat it in X-CSRF-Token; the token itself is in an httpOnly cookie. Over HTTPS
// the cookie is named with the __Host- prefix.
const CSRF_COOKIES = ["__Host-sextant_csrf", "sextant_csrf"];

function csrfToken(): string | null {
  const cookies = document.cookie.split("; ");
  for (const name of CSRF_COOKIES) {
    const found = cookies.find((c) => c.startsWith(`${name}=`));
    if (found) return decodeURIComponent(found.slice(name.length + 1));
  }
  return null;
}

/** Whether this browser holds a session to ask the server about. */
export function hasSessionCookie(): boolean {
  return csrfToken() !== null;
}

function sessionHeaders(method: string): Record<string, string> {
  const csrf = csrfToken();
  return method !== "GET" && csrf ? { "X-CSRF-Token": csrf } : {};
}

/** Query parameters with the unset ones (undefined or "") left out. */
function queryString(params: Record<string, string | number | boolean | undefined>): string {
  return new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => [k, String(v)]),
  ).toString();
}

export class Api {
  constructor(private onUnauthorized: Unauthorized = () => {}) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...sessionHeaders(method) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError("Sextant's server did not answer. Is it running?", 0);
    }
    if (!response.ok) {
      const message = await errorMessage(response);
      if (response.status === 401 && !path.startsWith("/api/auth/login")) this.onUnauthorized(message);
      throw new ApiError(message, response.status);
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  register = (email: string, password: string) => this.request<User>("POST", "/api/auth/register", { email, password });
  login = (email: string, password: string) =>
    this.request<Token>("POST", "/api/auth/login", { email, password, session_cookie: true });
  signup = () => this.request<Signup>("GET", "/api/auth/signup");
  forgetSession = () => this.request<void>("DELETE", "/api/auth/session");
  me = () => this.request<User>("GET", "/api/auth/me");
  logout = () => this.request<void>("POST", "/api/auth/logout");
  changePassword = (current_password: string, new_password: string) =>
    this.request<void>("POST", "/api/auth/password", { current_password, new_password });
  health = () => this.request<Health>("GET", "/health");
  connections = () => this.request<Connection[]>("GET", "/api/connections");
  testConnection = (kind: Kind, url: string) =>
    this.request<ConnectionTest>("POST", "/api/connections/test", { kind, url });
  createConnection = (name: string, kind: Kind, url: string) =>
    this.request<Connection>("POST", "/api/connections", { name, kind, url });
  deleteConnection = (id: string) => this.request<void>("DELETE", `/api/connections/${id}`);
  updateConnection = (id: string, body: ConnectionUpdate) =>
    this.request<Connection>("PATCH", `/api/connections/${id}`, body);
  sync = (id: string, mode: SyncMode = "full") =>
    this.request<SyncStarted>("POST", `/api/connections/${id}/sync`, { mode });
  syncStatus = (id: string) => this.request<SyncStatus>("GET", `/api/connections/${id}/sync`);
  schema = (id: string) => this.request<Schema>("GET", `/api/connections/${id}/schema`);
  history = (params: { connection_id?: string; conversation_id?: string; limit?: number; rows?: boolean } = {}) => {
    return this.request<HistoryPage>("GET", `/api/history?${queryString(params)}`);
  };
  /** Runs a person's query without the model (same guard and limits); a refusal is a result too. */
  runQuery = (body: QueryRunRequest) => this.request<QueryResult>("POST", "/api/query/run", body);
  deleteHistory = (id: string) => this.request<void>("DELETE", `/api/history/${id}`);
  setChart = (id: string, chart: ChartChoice | null) =>
    this.request<ChartChoice | null>("PATCH", `/api/history/${id}/chart`, chart);
  setFeedback = (id: string, feedback: FeedbackIn) =>
    this.request<Feedback>("PUT", `/api/history/${id}/feedback`, feedback);
  clearFeedback = (id: string) => this.request<void>("DELETE", `/api/history/${id}/feedback`);
  tokens = () => this.request<{ items: ApiToken[] }>("GET", "/api/tokens");
  createToken = (body: ApiTokenIn) => this.request<ApiTokenCreated>("POST", "/api/tokens", body);
  revokeToken = (id: string) => this.request<void>("DELETE", `/api/tokens/${id}`);
  examples = (connectionId: string) => this.request<Example[]>("GET", `/api/connections/${connectionId}/examples`);
  createExample = (connectionId: string, body: ExampleIn) =>
    this.request<Example>("POST", `/api/connections/${connectionId}/examples`, body);
  updateExample = (connectionId: string, id: string, body: ExampleUpdate) =>
    this.request<Example>("PUT", `/api/connections/${connectionId}/examples/${id}`, body);
  deleteExample = (connectionId: string, id: string) =>
    this.request<void>("DELETE", `/api/connections/${connectionId}/examples/${id}`);
  checkExample = (connectionId: string, query: string) =>
    this.request<ExampleCheck>("POST", `/api/connections/${connectionId}/examples/check`, { query });
  importExamples = (connectionId: string, format: ExampleFormat, content: string) =>
    this.request<ExampleImport>("POST", `/api/connections/${connectionId}/examples/import`, { format, content });
  /** Where the browser downloads the examples file from (a plain link). */
  examplesExportUrl = (connectionId: string, format: ExampleFormat) =>
    `/api/connections/${connectionId}/examples/export?format=${format}`;
  suggestions = (connectionId: string) =>
    this.request<Sent<Schemas["SuggestionsOut"]>>("GET", `/api/connections/${connectionId}/suggestions`);
  settings = () => this.request<Settings>("GET", "/api/settings");
  saveSettings = (settings: SettingsPatch) => this.request<Settings>("PUT", "/api/settings", settings);
  models = () => this.request<Models>("GET", "/api/models");
  adminUsers = () => this.request<AdminUser[]>("GET", "/api/admin/users");
  updateUser = (id: string, patch: AdminUserPatch) => this.request<AdminUser>("PATCH", `/api/admin/users/${id}`, patch);
  adminSettings = () => this.request<AdminSettings>("GET", "/api/admin/settings");
  saveAdminSettings = (allow_signup: boolean) =>
    this.request<AdminSettings>("PUT", "/api/admin/settings", { allow_signup });
  adminConnections = () => this.request<AdminConnection[]>("GET", "/api/admin/connections");
  evaluationSet = (id: string) => this.request<EvaluationSet>("GET", `/api/connections/${id}/evaluation-set`);
  importEvaluationSet = (id: string, body: EvaluationImport) =>
    this.request<EvaluationImportResult>("PUT", `/api/connections/${id}/evaluation-set`, body);
  clearEvaluationSet = (id: string) => this.request<void>("DELETE", `/api/connections/${id}/evaluation-set`);
  evaluations = (id: string) =>
    this.request<{ runs: EvaluationRun[] }>("GET", `/api/connections/${id}/evaluations`).then((r) => r.runs);
  startEvaluation = (id: string, body: EvaluationRunRequest) =>
    this.request<{ id: string }>("POST", `/api/connections/${id}/evaluations`, body);
  evaluation = (id: string, run: string) =>
    this.request<EvaluationRunDetail>("GET", `/api/connections/${id}/evaluations/${run}`);
  cancelEvaluation = (id: string, run: string) =>
    this.request<void>("POST", `/api/connections/${id}/evaluations/${run}/cancel`);
  deleteEvaluation = (id: string, run: string) =>
    this.request<void>("DELETE", `/api/connections/${id}/evaluations/${run}`);
  audit = (params: { action?: string; actor_id?: string; limit?: number; offset?: number } = {}) => {
    return this.request<AuditPage>("GET", `/api/audit?${queryString({ limit: 50, ...params })}`);
  };

  /**
   * POST /api/query/stream; calls `onEvent` for each Server-Sent Event as it arrives. Each event's data
   * is one AskEvent of the OpenAPI schema (its `event` field is also the SSE event name). Aborting
   * `signal` drops the connection: the server stops the question and cancels its running query.
   */
  async ask(body: QueryRequest, onEvent: (event: AskEvent) => void, signal?: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await fetch("/api/query/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...sessionHeaders("POST") },
        credentials: "same-origin",
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError("Sextant's server did not answer. Is it running?", 0);
    }
    if (!response.ok || !response.body) {
      const message = await errorMessage(response);
      if (response.status === 401) this.onUnauthorized(message);
      throw new ApiError(message, response.status);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const { events, rest } = parseSse(buffer);
      buffer = rest;
      // The one place the stream's JSON meets its type: the backend validates every event it sends.
      events.forEach((e) => onEvent(e.data as AskEvent));
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
