import { useEffect, useState, type FormEvent } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { Api, ApiError } from "../api";
import { useAuth } from "../auth";
import { Alert, Button, Field } from "../components/ui";

export default function LoginPage() {
  const { status, login, notice } = useAuth();
  const location = useLocation();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Unknown until the server says; the link to sign up appears only when it is open.
  const [signupOpen, setSignupOpen] = useState<boolean | null>(null);

  useEffect(() => {
    new Api()
      .signup()
      .then((state) => setSignupOpen(state.open))
      .catch(() => setSignupOpen(null));
  }, []);

  if (status === "in") return <Navigate to={(location.state as { from?: string } | null)?.from ?? "/"} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const api = new Api();
    try {
      if (mode === "register") await api.register(email, password);
      await api.login(email, password);
      login(await api.me());
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Something went wrong.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="mx-auto mt-24 max-w-sm">
      <h1 className="mb-1 text-2xl font-semibold">Sextant</h1>
      <p className="mb-6 text-sm text-slate-600">Ask your own databases, on your own machine.</p>
      <form
        onSubmit={submit}
        className="flex flex-col gap-4 rounded border border-slate-200 bg-white p-6 shadow-sm"
        aria-label={mode === "login" ? "Log in" : "Create account"}
      >
        <h2 className="text-lg font-medium">{mode === "login" ? "Log in" : "Create an account"}</h2>
        {notice && <Alert kind="info">{notice}</Alert>}
        {error && <Alert>{error}</Alert>}
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint={mode === "register" ? "At least 8 characters." : undefined}
        />
        <Button type="submit" disabled={busy}>
          {mode === "login" ? "Log in" : "Create account"}
        </Button>
        {signupOpen || mode === "register" ? (
          <button
            type="button"
            className="text-sm text-blue-700 underline"
            onClick={() => {
              setMode(mode === "login" ? "register" : "login");
              setError(null);
            }}
          >
            {mode === "login" ? "No account yet? Create one" : "Already have an account? Log in"}
          </button>
        ) : (
          signupOpen === false && (
            <p className="text-sm text-slate-600">Sign-up is closed: ask an administrator for an account.</p>
          )
        )}
      </form>
    </main>
  );
}
