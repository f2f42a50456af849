// Pure rules of the verified examples' screens, kept apart so they are unit-tested.
import type { ExampleCheck, ExampleFormat } from "../api";

/** The last query the save dialog ran, with what came back. */
export interface LastRun {
  /** The editor's text exactly as it was sent. */
  text: string;
  result: ExampleCheck;
}

/**
 * Whether "Save" may be pressed: a question, and the editor's current text is the one that last ran
 * and ran without error. Any edit after a run disables it until the new text has been run.
 */
export function canSaveExample(state: { question: string; text: string; lastRun: LastRun | null; busy: boolean }) {
  const { question, text, lastRun, busy } = state;
  if (busy || !question.trim() || !text.trim() || !lastRun) return false;
  return lastRun.text === text && lastRun.result.executed && !lastRun.result.error;
}

/** Why Save is not available yet, in a sentence (empty when it is). */
export function saveHint(state: { question: string; text: string; lastRun: LastRun | null }): string {
  if (!state.question.trim()) return "Write the question this query answers.";
  if (!state.lastRun) return "Run the query to see its rows before saving it.";
  if (state.lastRun.text !== state.text) return "The query changed since it ran: run it again before saving.";
  if (state.lastRun.result.error || !state.lastRun.result.executed)
    return "Only a query that ran without error can be saved.";
  return "";
}

/** The import format a file's name says: .csv is CSV, anything else JSON Lines. */
export function formatOf(fileName: string): ExampleFormat {
  return fileName.toLowerCase().endsWith(".csv") ? "csv" : "jsonl";
}

/** The largest file the import takes (the server refuses more, 413). */
export const MAX_IMPORT_BYTES = 2_000_000;
