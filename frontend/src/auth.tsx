import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { Api } from "./api";

// The token lives in sessionStorage: it survives a reload of the tab, not the browser,
// and is never written to a cookie or to localStorage.
const KEY = "sextant.token";

interface AuthState {
  token: string | null;
  email: string | null;
  api: Api;
  notice: string | null;
  login: (token: string, email: string) => void;
  /** Forgets the session here; with `everywhere` the server also ends every token of the account. */
  logout: (notice?: string, everywhere?: boolean) => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function tokenExpired(token: string, now = Date.now()): boolean {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp !== "number" || payload.exp * 1000 <= now;
  } catch {
    return true;
  }
}

function stored(): { token: string; email: string } | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as { token: string; email: string };
    return tokenExpired(value.token) ? null : value;
  } catch {
    return null;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState(stored);
  const [notice, setNotice] = useState<string | null>(null);

  const logout = useCallback((message?: string, everywhere = false) => {
    const current = stored();
    if (everywhere && current) new Api(current.token).logout().catch(() => undefined);
    sessionStorage.removeItem(KEY);
    setSession(null);
    setNotice(message ?? null);
  }, []);

  const login = useCallback((token: string, email: string) => {
    sessionStorage.setItem(KEY, JSON.stringify({ token, email }));
    setSession({ token, email });
    setNotice(null);
  }, []);

  const api = useMemo(
    () => new Api(session?.token ?? null, () => logout("Your session has expired. Please log in again.")),
    [session, logout],
  );

  const value = useMemo(
    () => ({ token: session?.token ?? null, email: session?.email ?? null, api, notice, login, logout }),
    [session, api, notice, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
