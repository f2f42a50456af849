import {
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";

export function Field({
  label,
  hint,
  ...input
}: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <input id={id} className="rounded border border-slate-300 px-3 py-2 text-sm shadow-sm" {...input} />
      {hint && <p className="text-xs text-slate-500">{hint}</p>}
    </div>
  );
}

export function SelectField({
  label,
  children,
  ...select
}: { label: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <select id={id} className="rounded border border-slate-300 bg-white px-3 py-2 text-sm" {...select}>
        {children}
      </select>
    </div>
  );
}

export function Button({
  variant = "primary",
  ...props
}: { variant?: "primary" | "secondary" | "danger" } & React.ButtonHTMLAttributes<HTMLButtonElement>) {
  const styles = {
    primary: "bg-blue-700 text-white hover:bg-blue-800",
    secondary: "bg-white text-slate-800 border border-slate-300 hover:bg-slate-100",
    danger: "bg-red-700 text-white hover:bg-red-800",
  }[variant];
  return (
    <button
      type="button"
      className={`rounded px-3 py-2 text-sm font-medium disabled:opacity-50 ${styles}`}
      {...props}
    />
  );
}

export function Alert({
  kind = "error",
  children,
}: {
  kind?: "error" | "info" | "warning" | "success";
  children: ReactNode;
}) {
  const styles = {
    error: "border-red-300 bg-red-50 text-red-900",
    info: "border-blue-300 bg-blue-50 text-blue-900",
    warning: "border-amber-300 bg-amber-50 text-amber-900",
    success: "border-green-300 bg-green-50 text-green-900",
  }[kind];
  return (
    <div role={kind === "error" ? "alert" : "status"} className={`rounded border px-3 py-2 text-sm ${styles}`}>
      {children}
    </div>
  );
}

export function ProgressBar({ done, total, label }: { done: number; total: number; label: string }) {
  const percent = total > 0 ? Math.round((100 * done) / total) : 0;
  return (
    <div className="flex items-center gap-2">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 w-40 overflow-hidden rounded bg-slate-200"
      >
        <div className="h-2 bg-blue-600 transition-all" style={{ width: `${percent}%` }} />
      </div>
      <span className="text-xs text-slate-600">{percent}%</span>
    </div>
  );
}

export function StatusBadge({ status }: { status: string | null }) {
  const styles: Record<string, string> = {
    succeeded: "bg-green-100 text-green-800",
    failed: "bg-red-100 text-red-800",
    running: "bg-blue-100 text-blue-800",
    pending: "bg-slate-100 text-slate-700",
  };
  const text = status ?? "never indexed";
  return (
    <span className={`rounded px-2 py-0.5 text-xs ${styles[status ?? ""] ?? "bg-slate-100 text-slate-700"}`}>
      {text}
    </span>
  );
}

/** A box that scrolls sideways when its content (a wide table) is wider than the screen. While it
 * scrolls it is a named region in the Tab order, so the keyboard can scroll it too; while it does
 * not, it adds no Tab stop. Positioned, so that absolutely placed content (an sr-only header)
 * is clipped with the rest instead of widening the page. */
export function ScrollArea({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const box = ref.current;
    if (!box || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => setScrolls(box.scrollWidth > box.clientWidth));
    observer.observe(box);
    if (box.firstElementChild) observer.observe(box.firstElementChild);
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={ref}
      className={`relative overflow-x-auto ${className ?? ""}`}
      role={scrolls ? "region" : undefined}
      aria-label={scrolls ? label : undefined}
      tabIndex={scrolls ? 0 : undefined}
    >
      {children}
    </div>
  );
}
