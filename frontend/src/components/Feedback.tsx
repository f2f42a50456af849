// Thumbs up or down on one answer, with an optional comment, kept with its history entry so a
// reopened conversation shows it. Pressing the pressed thumb again takes the rating off. A thumbs
// up on an answer with a query offers "Save as verified example" (its query editable first).
import { lazy, Suspense, useState } from "react";
import type { HistoryItem, Rating } from "../api";
import { useFeedback } from "../lib/queries";
import { Alert, Button } from "./ui";

const SaveExample = lazy(() => import("./SaveExample"));

const MAX_COMMENT = 2000;

export interface FeedbackProps {
  historyId: string;
  /** What is stored already (from the history entry), if anything. */
  rating?: HistoryItem["feedback_rating"];
  comment?: HistoryItem["feedback_comment"];
  /** The answer's question, query and connection: with a query, a thumbs up offers to save it as an example. */
  question?: string;
  query?: string | null;
  language?: string;
  connectionId?: string | null;
}

const THUMBS: { rating: Rating; label: string }[] = [
  { rating: "up", label: "Good answer" },
  { rating: "down", label: "Bad answer" },
];

/** A thumb drawn in SVG (no emoji font needed); down is up turned over. */
function Thumb({ down }: { down: boolean }) {
  return (
    <svg
      viewBox="0 0 24 24"
      width="16"
      height="16"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      style={down ? { transform: "scaleY(-1)" } : undefined}
    >
      <path d="M7 10v11H3V10h4z" />
      <path d="M7 10l4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.1 21H7" />
    </svg>
  );
}

export default function Feedback({
  historyId,
  rating: savedRating = null,
  comment: savedComment = null,
  question = "",
  query = null,
  language = "sql",
  connectionId = null,
}: FeedbackProps) {
  const [saving, setSaving] = useState(false);
  const canOffer = !!query && !!connectionId;
  const [rating, setRating] = useState<Rating | null>(savedRating ?? null);
  const [comment, setComment] = useState(savedComment ?? "");
  const [kept, setKept] = useState(savedComment ?? "");
  const [status, setStatus] = useState("");
  const mutation = useFeedback();

  const rate = (next: Rating) => {
    const cleared = rating === next;
    const feedback = cleared ? null : { rating: next, comment: kept.trim() || null };
    mutation.mutate(
      { historyId, feedback },
      {
        onSuccess: () => {
          setRating(cleared ? null : next);
          if (cleared) {
            setComment("");
            setKept("");
          }
          setStatus(cleared ? "Feedback removed." : "Thanks: feedback saved.");
        },
      },
    );
  };

  const saveComment = (event: React.FormEvent) => {
    event.preventDefault();
    if (!rating) return;
    mutation.mutate(
      { historyId, feedback: { rating, comment: comment.trim() || null } },
      {
        onSuccess: () => {
          setKept(comment.trim());
          setStatus("Comment saved.");
        },
      },
    );
  };

  const inputId = `feedback-comment-${historyId}`;
  return (
    <div className="flex flex-col gap-2" data-testid="feedback">
      <div className="flex items-center gap-2" role="group" aria-label="Feedback on this answer">
        <span className="text-xs text-slate-600">Was this answer right?</span>
        {THUMBS.map((t) => (
          <button
            key={t.rating}
            type="button"
            aria-label={t.label}
            aria-pressed={rating === t.rating}
            title={rating === t.rating ? `${t.label} (press again to take it back)` : t.label}
            disabled={mutation.isPending}
            onClick={() => rate(t.rating)}
            className={`rounded border px-2 py-1 text-sm disabled:opacity-50 ${
              rating === t.rating
                ? "border-blue-700 bg-blue-100 text-blue-900"
                : "border-slate-300 bg-white text-slate-800 hover:bg-slate-100"
            }`}
          >
            <Thumb down={t.rating === "down"} />
          </button>
        ))}
        <span className="text-xs text-slate-600" role="status">
          {status}
        </span>
      </div>
      {rating && (
        <form className="flex flex-col gap-1" onSubmit={saveComment}>
          <label htmlFor={inputId} className="text-xs text-slate-700">
            {rating === "down" ? "What was wrong? (optional)" : "Comment (optional)"}
          </label>
          <textarea
            id={inputId}
            value={comment}
            maxLength={MAX_COMMENT}
            rows={2}
            onChange={(e) => setComment(e.target.value)}
            className="rounded border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900"
          />
          <div>
            <Button type="submit" variant="secondary" disabled={mutation.isPending || comment.trim() === kept.trim()}>
              Save comment
            </Button>
          </div>
        </form>
      )}
      {rating === "up" && canOffer && !saving && (
        <div>
          <Button variant="secondary" onClick={() => setSaving(true)}>
            Save as verified example
          </Button>
        </div>
      )}
      {rating === "up" && canOffer && saving && (
        <Suspense fallback={<p className="text-sm text-slate-600">Loading…</p>}>
          <SaveExample
            connectionId={connectionId ?? ""}
            language={language === "mongo" ? "mongo" : "sql"}
            question={question}
            query={query ?? ""}
            historyId={historyId}
            onClose={() => setSaving(false)}
          />
        </Suspense>
      )}
      {mutation.isError && (
        <Alert>{mutation.error instanceof Error ? mutation.error.message : "Could not save the feedback"}</Alert>
      )}
    </div>
  );
}
