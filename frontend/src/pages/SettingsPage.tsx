import { useState, type FormEvent } from "react";
import { ApiError, type Settings } from "../api";
import { useAuth } from "../auth";
import { ApiTokens } from "../components/ApiTokens";
import { Alert, Button, Field, SelectField } from "../components/ui";
import { errorText, useModels, useSaveSettings, useSettings } from "../lib/queries";

export default function SettingsPage() {
  const { api } = useAuth();
  const settingsQuery = useSettings();
  const modelsQuery = useModels();
  const saveSettings = useSaveSettings();
  // The form edits a draft of the stored settings; saving makes the saved ones the stored ones.
  const [draft, setSettings] = useState<Settings | null>(null);
  const settings = draft ?? settingsQuery.data ?? null;
  const models = modelsQuery.data ?? [];
  const modelsError = errorText(modelsQuery.error, "The model list is unavailable.");
  const [saved, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const loadError = errorText(settingsQuery.error, "Could not load settings.");
  const message = saved ?? (loadError ? { kind: "error" as const, text: loadError } : null);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [passwordMessage, setPasswordMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    try {
      await saveSettings.mutateAsync(settings);
      setSettings(null);
      setMessage({ kind: "success", text: "Settings saved." });
    } catch (err) {
      setMessage({ kind: "error", text: err instanceof ApiError ? err.message : "Could not save." });
    }
  }

  async function changePassword(event: FormEvent) {
    event.preventDefault();
    try {
      await api.changePassword(current, next);
      setCurrent("");
      setNext("");
      setPasswordMessage({ kind: "success", text: "Password changed." });
    } catch (err) {
      setPasswordMessage({
        kind: "error",
        text: err instanceof ApiError ? err.message : "Could not change the password.",
      });
    }
  }

  // "llama3.2" and "llama3.2:latest" name the same model, as in Ollama itself.
  const selected = settings
    ? (models.find((m) => m === settings.model || m === `${settings.model}:latest`) ?? settings.model)
    : "";
  const choices = models.includes(selected) ? models : [selected, ...models];
  return (
    <div className="flex max-w-xl flex-col gap-6">
      <h1 className="text-2xl font-semibold">Settings</h1>
      {settings && (
        <form
          onSubmit={save}
          aria-label="Question settings"
          className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4"
        >
          {message && <Alert kind={message.kind}>{message.text}</Alert>}
          {modelsError && <Alert kind="warning">{modelsError}</Alert>}
          <SelectField
            label="Model"
            value={selected}
            onChange={(e) => setSettings({ ...settings, model: e.target.value })}
          >
            {choices.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </SelectField>
          <Field
            label="Tables retrieved per question (top_k)"
            type="number"
            min={1}
            max={50}
            value={settings.top_k}
            onChange={(e) => setSettings({ ...settings, top_k: Number(e.target.value) })}
          />
          <Field
            label="Sample rows shown to the model per table"
            type="number"
            min={0}
            max={10}
            value={settings.sample_rows}
            onChange={(e) => setSettings({ ...settings, sample_rows: Number(e.target.value) })}
          />
          <div className="flex items-center gap-2">
            <input
              id="execute"
              type="checkbox"
              checked={settings.execute_queries}
              onChange={(e) => setSettings({ ...settings, execute_queries: e.target.checked })}
            />
            <label htmlFor="execute" className="text-sm">
              Run the queries the model writes (read-only)
            </label>
          </div>
          <Button type="submit">Save settings</Button>
        </form>
      )}
      <form
        onSubmit={changePassword}
        aria-label="Change password"
        className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4"
      >
        <h2 className="font-medium">Change password</h2>
        {passwordMessage && <Alert kind={passwordMessage.kind}>{passwordMessage.text}</Alert>}
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <Button type="submit">Change password</Button>
      </form>
      <ApiTokens />
    </div>
  );
}
