import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { Api, ApiError, hasSessionCookie, type User } from "./api";
import { sessionEnded } from "./lib/session";

// The session is an httpOnly cookie the page never reads (docs/ARCHITECTURE.md, "Sessions"):
// it survives reloads and new tabs, and nothing of it sits in localStorage or sessionStorage.
// What the page knows is whether the server accepts it, asked once at start.

export type SessionStatus = "checking" | "in" | "out";

interface AuthState {
  status: SessionStatus;
  email: string | null;
  role: User["role"] | null;
  api: Api;
  notice: string | null;
  /** After a successful login with `session_cookie`: the cookie is set, the page follows. */
  login: (user: User) => void;
  /** Forgets the session here; with `everywhere` the server also ends every session of the account. */
  logout: (notice?: string, everywhere?: boolean) => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>(() => (hasSessionCookie() ? "checking" : "out"));
  const [email, setEmail] = useState<string | null>(null);
  const [role, setRole] = useState<User["role"] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const logout = useCallback((message?: string, everywhere = false) => {
    const api = new Api();
    (everywhere ? api.logout() : Promise.reject(new Error("local")))
      .catch(() => api.forgetSession())
      .catch(() => undefined);
    setStatus("out");
    setEmail(null);
    setRole(null);
    setNotice(message ?? null);
  }, []);

  const login = useCallback((who: User) => {
    setEmail(who.email);
    setRole(who.role);
    setStatus("in");
    setNotice(null);
  }, []);

  const api = useMemo(() => new Api((detail) => logout(sessionEnded(detail))), [logout]);

  useEffect(() => {
    if (status !== "checking") return;
    api
      .me()
      .then(login)
      .catch((err: unknown) => {
        // A server that does not answer is not a logged-out session: say so, keep nothing.
        if (err instanceof ApiError && err.status === 401) return;
        logout(err instanceof ApiError ? err.message : sessionEnded(null));
      });
  }, [api, status, login, logout]);

  const value = useMemo(
    () => ({ status, email, role, api, notice, login, logout }),
    [status, email, role, api, notice, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
