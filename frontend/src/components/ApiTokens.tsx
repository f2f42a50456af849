import { useState, type FormEvent } from "react";
import { ApiError, type ApiToken, type ApiTokenCreated, type TokenScope } from "../api";
import { copyText } from "../lib/clipboard";
import { errorText, useApiTokens, useCreateApiToken, useRevokeApiToken } from "../lib/queries";
import { Alert, Button, Field, ScrollArea, SelectField } from "./ui";

const SCOPES: Record<TokenScope, string> = {
  read: "Read: connections, schema and search",
  ask: "Ask: questions and queries too",
};

const EXPIRIES: { label: string; days: number | null }[] = [
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
  { label: "Never", days: null },
];

function when(value: string | null): string {
  return value ? new Date(value).toLocaleString() : "—";
}

export function tokenState(token: ApiToken, now: Date = new Date()): "active" | "revoked" | "expired" {
  if (token.revoked_at) return "revoked";
  if (token.expires_at && new Date(token.expires_at) <= now) return "expired";
  return "active";
}

/** Settings: personal API tokens for scripts and MCP clients. A made token is shown once. */
export function ApiTokens() {
  const tokens = useApiTokens();
  const create = useCreateApiToken();
  const revoke = useRevokeApiToken();
  const [name, setName] = useState("");
  const [scope, setScope] = useState<TokenScope>("read");
  const [expiry, setExpiry] = useState("90 days");
  const [made, setMade] = useState<ApiTokenCreated | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const loadError = errorText(tokens.error, "Could not load your API tokens.");

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    setCopied(null);
    const days = EXPIRIES.find((e) => e.label === expiry)?.days ?? null;
    try {
      setMade(await create.mutateAsync({ name: name.trim(), scope, expires_in_days: days }));
      setName("");
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : "Could not make the token.");
    }
  }

  async function copy(token: string) {
    setCopied((await copyText(token)) ? "Copied." : "The browser refused to copy: select the token and copy it.");
  }

  return (
    <section aria-labelledby="api-tokens" className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4">
      <h2 id="api-tokens" className="font-medium">
        API tokens
      </h2>
      <p className="text-sm text-slate-600">
        For scripts and MCP clients: send one as <code>Authorization: Bearer &lt;token&gt;</code>. A token acts as you,
        within its scope; revoking it stops it at once.
      </p>
      {loadError && <Alert kind="error">{loadError}</Alert>}
      <form onSubmit={submit} aria-label="New API token" className="flex flex-col gap-3">
        <Field label="Token name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        <SelectField label="Scope" value={scope} onChange={(e) => setScope(e.target.value as TokenScope)}>
          {(Object.keys(SCOPES) as TokenScope[]).map((s) => (
            <option key={s} value={s}>
              {SCOPES[s]}
            </option>
          ))}
        </SelectField>
        <SelectField label="Expires after" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRIES.map((e) => (
            <option key={e.label} value={e.label}>
              {e.label}
            </option>
          ))}
        </SelectField>
        <Button type="submit" disabled={create.isPending || !name.trim()}>
          Make token
        </Button>
      </form>
      {problem && <Alert kind="error">{problem}</Alert>}
      {made && (
        <div role="status" className="flex flex-col gap-2 rounded border border-amber-300 bg-amber-50 p-3 text-sm">
          <p>Your new token “{made.name}”. Copy it now: it is not shown again.</p>
          <code data-testid="new-token" className="break-all rounded bg-white px-2 py-1 font-mono text-xs">
            {made.token}
          </code>
          <div className="flex items-center gap-2">
            <Button variant="secondary" onClick={() => copy(made.token)}>
              Copy token
            </Button>
            <Button variant="secondary" onClick={() => setMade(null)}>
              Done
            </Button>
            {copied && <span>{copied}</span>}
          </div>
        </div>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <ScrollArea label="Your API tokens">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Your API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scope</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => {
                const state = tokenState(t);
                return (
                  <tr key={t.id} className="border-t border-slate-200">
                    <td className="py-1 pr-2">{t.name}</td>
                    <td className="pr-2 font-mono text-xs">{t.prefix}…</td>
                    <td className="pr-2">{t.scope}</td>
                    <td className="pr-2">{t.expires_at ? when(t.expires_at) : "never"}</td>
                    <td className="pr-2">{when(t.last_used_at)}</td>
                    <td className="pr-2">{state}</td>
                    <td>
                      {state === "active" &&
                        (confirming === t.id ? (
                          <span className="flex gap-1">
                            <Button
                              variant="danger"
                              onClick={() => revoke.mutate(t.id, { onSettled: () => setConfirming(null) })}
                            >
                              Revoke {t.name}
                            </Button>
                            <Button variant="secondary" onClick={() => setConfirming(null)}>
                              Keep
                            </Button>
                          </span>
                        ) : (
                          <Button
                            variant="secondary"
                            aria-label={`Revoke ${t.name}…`}
                            onClick={() => setConfirming(t.id)}
                          >
                            Revoke…
                          </Button>
                        ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollArea>
      )}
    </section>
  );
}
