// Data fetching and cache invalidation with TanStack Query. api.ts stays the fetch layer (its
// 401 handling ends the session); these hooks name each list once, by key, so that a change
// (a question asked, a connection deleted, a user disabled) refreshes every screen showing it.
import {
  QueryClient,
  keepPreviousData,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryKey,
} from "@tanstack/react-query";
import {
  ApiError,
  type AdminUserPatch,
  type Api,
  type ApiTokenIn,
  type ConnectionUpdate,
  type EvaluationImport,
  type EvaluationRunRequest,
  type ExampleFormat,
  type ExampleIn,
  type FeedbackIn,
  type Kind,
  type SettingsPatch,
  type SyncMode,
  type SyncStatus,
} from "../api";
import { useCallback } from "react";
import { useAuth } from "../auth";

export const keys = {
  connections: ["connections"] as const,
  /** Every history list and conversation: asking or deleting invalidates them all. */
  history: ["history"] as const,
  historyList: (limit: number) => ["history", "list", limit] as const,
  conversation: (id: string) => ["history", "conversation", id] as const,
  health: ["health"] as const,
  settings: ["settings"] as const,
  models: ["models"] as const,
  tokens: ["tokens"] as const,
  // Not under "connections": reloading the list does not ask every card's job again.
  syncStatus: (id: string) => ["sync", id] as const,
  admin: ["admin"] as const,
  adminUsers: ["admin", "users"] as const,
  adminSettings: ["admin", "settings"] as const,
  adminConnections: ["admin", "connections"] as const,
  audit: (params: AuditParams) => ["admin", "audit", params] as const,
  evaluationSet: (id: string) => ["evaluation-set", id] as const,
  /** A connection's runs, and under it each run's detail: starting or deleting a run refreshes both. */
  evaluations: (id: string) => ["evaluations", id] as const,
  evaluation: (id: string, run: string) => ["evaluations", id, run] as const,
  /** A connection's verified examples, and the suggestions made from them. */
  examples: (connectionId: string) => ["examples", connectionId] as const,
  suggestions: (connectionId: string) => ["examples", connectionId, "suggestions"] as const,
};

export interface AuditParams {
  action: string;
  actor_id: string;
  offset: number;
  limit: number;
}

/** A 4xx is an answer, not a hiccup: only a server that did not answer or failed is asked again, once. */
function retry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status > 0 && error.status < 500) return false;
  return failures < 1;
}

export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // Stale at once, as the screens fetched on every visit before: a visit shows the cached list
      // at once and fetches it again behind it.
      queries: { retry },
      mutations: { retry: false },
    },
  });
}

/** A failed query's sentence, as the screens show it. */
export function errorText(error: unknown, fallback: string): string | null {
  if (!error) return null;
  return error instanceof ApiError ? error.message : fallback;
}

export function useConnections() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.connections, queryFn: () => api.connections() });
}

/** The most recent questions, without their rows (History and the Dashboard). */
export function useHistoryList(limit: number) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.historyList(limit),
    queryFn: () => api.history({ limit, rows: false }),
    select: (page) => page.items,
  });
}

/** The query of one conversation's turns with their evidence, for queryClient.fetchQuery. */
export function conversationQuery(api: Api, id: string) {
  return { queryKey: keys.conversation(id), queryFn: () => api.history({ conversation_id: id, limit: 50 }) };
}

export function useHealth() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.health, queryFn: () => api.health() });
}

export function useSettings() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.settings, queryFn: () => api.settings() });
}

export function useModels() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.models, queryFn: () => api.models(), select: (m) => m.models.map((x) => x.name) });
}

const ACTIVE: ReadonlySet<string> = new Set(["pending", "running"]);

export function isActive(status: SyncStatus | null | undefined): status is SyncStatus {
  return !!status && ACTIVE.has(status.status);
}

/** A connection's indexing job, polled every 400 ms while it is pending or running. */
export function useSyncStatus(id: string) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.syncStatus(id),
    queryFn: () => api.syncStatus(id),
    refetchInterval: (query) => (isActive(query.state.data) ? 400 : false),
  });
}

export function useAdminUsers() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.adminUsers, queryFn: () => api.adminUsers() });
}

export function useAdminSettings() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.adminSettings, queryFn: () => api.adminSettings() });
}

export function useAdminConnections() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.adminConnections, queryFn: () => api.adminConnections() });
}

/** One page of the audit trail; the page shown stays while the next one loads. */
export function useAudit(params: AuditParams) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.audit(params),
    queryFn: () => api.audit(params),
    placeholderData: keepPreviousData,
  });
}

/** Marks these lists stale: the ones on screen are fetched again, the others when next shown. */
export function useInvalidate(): (...lists: QueryKey[]) => Promise<void> {
  const client = useQueryClient();
  return useCallback(
    (...lists: QueryKey[]) =>
      Promise.all(lists.map((queryKey) => client.invalidateQueries({ queryKey }))).then(() => {}),
    [client],
  );
}

// Mutations. Each says which lists it changes; the audit trail changes with every one of them.

export function useCreateConnection() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (c: { name: string; kind: Kind; url: string }) => api.createConnection(c.name, c.kind, c.url),
    onSuccess: () => invalidate(keys.connections, keys.admin),
  });
}

export function useDeleteConnection() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (id: string) => api.deleteConnection(id),
    // Its history goes with it.
    onSuccess: () => invalidate(keys.connections, keys.history, keys.admin),
  });
}

export function useUpdateConnection() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: string; patch: ConnectionUpdate }) => api.updateConnection(v.id, v.patch),
    onSuccess: () => invalidate(keys.connections, keys.admin),
  });
}

/** Starts a (re-)index; the job's status is polled from then on. */
export function useSync() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: string; mode: SyncMode }) => api.sync(v.id, v.mode),
    onSuccess: (_, v) => invalidate(keys.syncStatus(v.id), keys.admin),
  });
}

export function useDeleteHistory() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api.deleteHistory(id), onSuccess: () => invalidate(keys.history) });
}

/** Rates an answer (a feedback) or takes its rating off (null); the history lists and the
 * admin's per-connection counts change with it. */
export function useFeedback() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: async (v: { historyId: string; feedback: FeedbackIn | null }): Promise<void> => {
      if (v.feedback) await api.setFeedback(v.historyId, v.feedback);
      else await api.clearFeedback(v.historyId);
    },
    onSuccess: () => invalidate(keys.history, keys.admin),
  });
}

export function useSaveSettings() {
  const { api } = useAuth();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (s: SettingsPatch) => api.saveSettings(s),
    onSuccess: (saved) => {
      client.setQueryData(keys.settings, saved);
      return client.invalidateQueries({ queryKey: keys.admin });
    },
  });
}

export function useUpdateUser() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: string; patch: AdminUserPatch }) => api.updateUser(v.id, v.patch),
    onSuccess: () => invalidate(keys.admin),
  });
}

export function useSaveAdminSettings() {
  const { api } = useAuth();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (allowSignup: boolean) => api.saveAdminSettings(allowSignup),
    onSuccess: (saved) => {
      client.setQueryData(keys.adminSettings, saved);
      return client.invalidateQueries({ queryKey: keys.admin });
    },
  });
}

/** The caller's personal API tokens (never the tokens themselves: only made ones are shown, once). */
export function useApiTokens() {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.tokens, queryFn: async () => (await api.tokens()).items });
}

export function useCreateApiToken() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: ApiTokenIn) => api.createToken(body),
    onSuccess: () => invalidate(keys.tokens),
  });
}

export function useRevokeApiToken() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api.revokeToken(id), onSuccess: () => invalidate(keys.tokens) });
}

// Evaluation: a connection's evaluation set and its runs. A run going on is polled every second.

const RUNNING: ReadonlySet<string> = new Set(["pending", "running"]);

export function runIsActive(run: { status: string } | null | undefined): boolean {
  return !!run && RUNNING.has(run.status);
}

export function useEvaluationSet(id: string) {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.evaluationSet(id), queryFn: () => api.evaluationSet(id) });
}

export function useEvaluations(id: string) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.evaluations(id),
    queryFn: () => api.evaluations(id),
    refetchInterval: (query) => ((query.state.data ?? []).some(runIsActive) ? 1000 : false),
  });
}

export function useEvaluation(id: string, run: string | null) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.evaluation(id, run ?? ""),
    queryFn: () => api.evaluation(id, run ?? ""),
    enabled: !!run,
    refetchInterval: (query) => (runIsActive(query.state.data) ? 1000 : false),
  });
}

export function useImportEvaluationSet(id: string) {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: EvaluationImport) => api.importEvaluationSet(id, body),
    onSuccess: () => invalidate(keys.evaluationSet(id)),
  });
}

export function useClearEvaluationSet(id: string) {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: () => api.clearEvaluationSet(id),
    onSuccess: () => invalidate(keys.evaluationSet(id)),
  });
}

/** Starts a run; the list (and so its polling) picks it up. */
export function useStartEvaluation(id: string) {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: EvaluationRunRequest) => api.startEvaluation(id, body),
    onSuccess: () => invalidate(keys.evaluations(id)),
  });
}

/** Stops a running run (its scored questions stay); the list and the run's detail refresh. */
export function useCancelEvaluation(id: string) {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (run: string) => api.cancelEvaluation(id, run),
    onSuccess: () => invalidate(keys.evaluations(id)),
  });
}

export function useDeleteEvaluation(id: string) {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (run: string) => api.deleteEvaluation(id, run),
    onSuccess: () => invalidate(keys.evaluations(id)),
  });
}

/** A connection's verified examples, newest first. */
export function useExamples(connectionId: string) {
  const { api } = useAuth();
  return useQuery({ queryKey: keys.examples(connectionId), queryFn: () => api.examples(connectionId) });
}

/** Questions to offer on an empty chat (examples first); none while no connection is chosen. */
export function useSuggestions(connectionId: string | null) {
  const { api } = useAuth();
  return useQuery({
    queryKey: keys.suggestions(connectionId ?? ""),
    queryFn: () => api.suggestions(connectionId ?? ""),
    enabled: !!connectionId,
    staleTime: 60_000,
    select: (out) => out.suggestions,
  });
}

/** Checks and runs a query read-only without saving it (the save dialog shows its rows). */
export function useCheckExample() {
  const { api } = useAuth();
  return useMutation({
    mutationFn: (v: { connectionId: string; query: string }) => api.checkExample(v.connectionId, v.query),
  });
}

/** Adds (no `id`) or changes an example; its connection's examples and suggestions change with it. */
export function useSaveExample() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { connectionId: string; id?: string; body: ExampleIn }) =>
      v.id
        ? api.updateExample(v.connectionId, v.id, { question: v.body.question, query: v.body.query })
        : api.createExample(v.connectionId, v.body),
    onSuccess: (_, v) => invalidate(keys.examples(v.connectionId), keys.admin),
  });
}

export function useDeleteExample() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { connectionId: string; id: string }) => api.deleteExample(v.connectionId, v.id),
    onSuccess: (_, v) => invalidate(keys.examples(v.connectionId), keys.admin),
  });
}

export function useImportExamples() {
  const { api } = useAuth();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { connectionId: string; format: ExampleFormat; content: string }) =>
      api.importExamples(v.connectionId, v.format, v.content),
    onSuccess: (_, v) => invalidate(keys.examples(v.connectionId), keys.admin),
  });
}
