// The Chat screen's History: a column beside the chat on wide screens, below it on tablets, and on
// a phone (under 640 px) a drawer behind a "History" button, so the question box stays in reach.
import { useEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent } from "react";
import type { HistoryItem } from "../api";
import { errorText, useDeleteHistory, useHistoryList } from "../lib/queries";
import { Button } from "./ui";

/** Tailwind's `sm` breakpoint: under it the layout is a phone's. */
export const PHONE_QUERY = "(max-width: 639.98px)";

export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (changed) => {
      const list = window.matchMedia?.(query);
      list?.addEventListener("change", changed);
      return () => list?.removeEventListener("change", changed);
    },
    () => window.matchMedia?.(query).matches ?? false,
  );
}

// The secondary Button's look, on plain buttons that take a ref or a margin.
const SECONDARY =
  "rounded border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100";

const FOCUSABLE = "button:not([disabled]), a[href], input, select, textarea, [tabindex]:not([tabindex='-1'])";

function HistoryList({ onOpen }: { onOpen: (item: HistoryItem) => void }) {
  const history = useHistoryList(50);
  const remove = useDeleteHistory();
  // The entry whose deletion waits for a second click.
  const [confirming, setConfirming] = useState<string | null>(null);
  const error = errorText(history.error ?? remove.error, "Could not load the history.");
  return (
    <>
      {error && <p className="text-xs text-slate-600">{error}</p>}
      {history.data?.length === 0 && <p className="text-xs text-slate-600">No questions asked yet.</p>}
      <ul className="flex flex-col gap-1 text-sm">
        {(history.data ?? []).map((h) => (
          <li key={h.id} className="flex items-center gap-1">
            <button
              id={`history-${h.id}`}
              type="button"
              className="min-w-0 flex-1 truncate rounded px-2 py-1 text-left hover:bg-slate-200"
              onClick={() => onOpen(h)}
            >
              {h.origin !== "asked" && (
                <span className="mr-1 text-xs text-violet-800">{h.origin === "edited" ? "Edited:" : "Query:"}</span>
              )}
              {h.question}
            </button>
            {confirming === h.id ? (
              <>
                <button
                  type="button"
                  className="rounded bg-red-700 px-2 py-1 text-xs text-white"
                  aria-describedby={`history-${h.id}`}
                  autoFocus
                  onClick={() => remove.mutate(h.id, { onSettled: () => setConfirming(null) })}
                >
                  Delete
                </button>
                <button
                  type="button"
                  className="rounded px-2 py-1 text-xs text-slate-700 hover:bg-slate-200"
                  onClick={() => setConfirming(null)}
                >
                  Keep
                </button>
              </>
            ) : (
              <button
                type="button"
                className="rounded px-2 py-1 text-slate-500 hover:bg-slate-200"
                aria-label="Delete from history"
                aria-describedby={`history-${h.id}`}
                title="Delete this question and its answer from History"
                onClick={() => setConfirming(h.id)}
              >
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** A modal drawer from the left: focus moves into it, Tab stays inside, Escape or Close shuts it. */
function Drawer({ onClose, children }: { onClose: () => void; children: React.ReactNode }) {
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    panel.current?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
  }, []);
  function keyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
    } else if (event.key === "Tab" && panel.current) {
      const all = [...panel.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
      const first = all[0];
      const last = all[all.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last?.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first?.focus();
      }
    }
  }
  return (
    <div className="fixed inset-0 z-20" onKeyDown={keyDown}>
      <div className="absolute inset-0 bg-black/40" aria-hidden="true" onClick={onClose} />
      <div
        ref={panel}
        role="dialog"
        aria-modal="true"
        aria-labelledby="history-drawer-title"
        className="absolute inset-y-0 left-0 flex w-[85vw] max-w-sm flex-col gap-2 overflow-y-auto bg-white p-4 shadow-xl"
      >
        <div className="flex items-center">
          <h2 id="history-drawer-title" className="font-medium">
            History
          </h2>
          <button type="button" className={`ml-auto ${SECONDARY}`} onClick={onClose} data-autofocus>
            Close
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export default function HistoryPanel({ onOpen, onNew }: { onOpen: (item: HistoryItem) => void; onNew: () => void }) {
  const phone = useMediaQuery(PHONE_QUERY);
  const [open, setOpen] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  // A drawer left open when the window widens does not spring open again when it narrows.
  if (!phone && open) setOpen(false);
  const close = () => {
    setOpen(false);
    opener.current?.focus(); // back where the person was
  };

  if (phone) {
    return (
      <div className="order-first flex gap-2">
        <button
          ref={opener}
          type="button"
          className={SECONDARY}
          aria-haspopup="dialog"
          aria-expanded={open}
          onClick={() => setOpen(true)}
        >
          History
        </button>
        <Button variant="secondary" onClick={onNew}>
          New conversation
        </Button>
        {open && (
          <Drawer onClose={close}>
            <HistoryList
              onOpen={(item) => {
                onOpen(item);
                close();
              }}
            />
          </Drawer>
        )}
      </div>
    );
  }
  return (
    <aside aria-label="History" className="order-last flex min-w-0 flex-col gap-2 lg:order-first lg:col-span-1">
      <Button variant="secondary" onClick={onNew}>
        New conversation
      </Button>
      <h2 className="mt-2 text-sm font-medium text-slate-700">History</h2>
      <HistoryList onOpen={onOpen} />
    </aside>
  );
}
