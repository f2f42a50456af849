import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useAuth } from "./auth";
import { applyTheme, followSystem, storedTheme, type ThemePref } from "./lib/theme";
import LoginPage from "./pages/LoginPage";

// Each signed-in screen is its own chunk, fetched when first opened: the login page loads none
// of them, nor the libraries they bring (Markdown, tables, charts, the editor, the schema map).
// LoginPage stays in the entry chunk, so the first screen most people see needs one request.
const AdminPage = lazy(() => import("./pages/AdminPage"));
const ChatPage = lazy(() => import("./pages/ChatPage"));
const ConnectionsPage = lazy(() => import("./pages/ConnectionsPage"));
const DashboardPage = lazy(() => import("./pages/DashboardPage"));
const EvaluatePage = lazy(() => import("./pages/EvaluatePage"));
const ExamplesPage = lazy(() => import("./pages/ExamplesPage"));
const SchemaMapPage = lazy(() => import("./pages/SchemaMapPage"));
const SettingsPage = lazy(() => import("./pages/SettingsPage"));

/** What stands in the page while its chunk loads: announced politely, not a blank screen. */
function PageLoading() {
  return (
    <p role="status" className="text-sm text-slate-600">
      Loading…
    </p>
  );
}

function Layout({ children }: { children: React.ReactNode }) {
  const { email, role, logout } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  const [theme, setTheme] = useState<ThemePref>(storedTheme);
  useEffect(() => {
    applyTheme(theme);
    return theme === "system" ? followSystem(() => applyTheme("system")) : undefined;
  }, [theme]);
  const link = ({ isActive }: { isActive: boolean }) =>
    `rounded px-3 py-2 text-sm ${isActive ? "bg-blue-700 text-white" : "text-slate-700 hover:bg-slate-200"}`;
  const close = () => setMenuOpen(false);
  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:shadow"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <nav aria-label="Main" className="mx-auto flex max-w-7xl flex-wrap items-center gap-2 px-4 py-2">
          <span className="mr-4 font-semibold text-slate-900">Sextant</span>
          {/* On a phone the links fold behind one button; from 640 px they stand in a row. */}
          <button
            type="button"
            className="ml-auto rounded border border-slate-300 px-3 py-1 text-sm sm:hidden"
            aria-expanded={menuOpen}
            aria-controls="main-links"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            Menu
          </button>
          <div
            id="main-links"
            className={`${menuOpen ? "flex" : "hidden"} w-full flex-col gap-1 sm:flex sm:w-auto sm:flex-1 sm:flex-row sm:items-center sm:gap-2`}
          >
            <NavLink to="/" end className={link} onClick={close}>
              Dashboard
            </NavLink>
            <NavLink to="/connections" className={link} onClick={close}>
              Connections
            </NavLink>
            <NavLink to="/chat" className={link} onClick={close}>
              Chat
            </NavLink>
            <NavLink to="/settings" className={link} onClick={close}>
              Settings
            </NavLink>
            {role === "admin" && (
              <NavLink to="/admin" className={link} onClick={close}>
                Admin
              </NavLink>
            )}
            <select
              aria-label="Theme"
              value={theme}
              onChange={(e) => setTheme(e.target.value as ThemePref)}
              className="rounded border border-slate-300 bg-white px-2 py-1 text-sm sm:ml-auto"
            >
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
            <span className="truncate px-3 text-sm text-slate-600 sm:px-0">{email}</span>
            <button
              type="button"
              onClick={() => logout(undefined, true)}
              className="rounded px-3 py-2 text-left text-sm text-slate-700 hover:bg-slate-200"
            >
              Log out
            </button>
          </div>
        </nav>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-7xl px-4 py-6 outline-none">
        <Suspense fallback={<PageLoading />}>{children}</Suspense>
      </main>
    </div>
  );
}

/** Admin screens for admins only: anyone else is sent to the dashboard, not shown empty tables. */
function RequireAdmin({ children }: { children: React.ReactNode }) {
  const { role } = useAuth();
  if (role !== "admin") return <Navigate to="/" replace />;
  return <>{children}</>;
}

function RequireAuth({ children }: { children: React.ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === "checking")
    return (
      <p role="status" className="p-6 text-sm text-slate-600">
        Loading…
      </p>
    );
  if (status === "out") return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <Layout>{children}</Layout>;
}

export default function App() {
  const { status } = useAuth();
  const queryClient = useQueryClient();
  // Nothing fetched for one account is shown to the next one to log in on this page.
  useEffect(() => {
    if (status === "out") queryClient.clear();
  }, [status, queryClient]);
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        path="/"
        element={
          <RequireAuth>
            <DashboardPage />
          </RequireAuth>
        }
      />
      <Route
        path="/connections"
        element={
          <RequireAuth>
            <ConnectionsPage />
          </RequireAuth>
        }
      />
      <Route
        path="/connections/:id/map"
        element={
          <RequireAuth>
            <SchemaMapPage />
          </RequireAuth>
        }
      />
      <Route
        path="/connections/:id/evaluate"
        element={
          <RequireAuth>
            <EvaluatePage />
          </RequireAuth>
        }
      />
      <Route
        path="/connections/:id/examples"
        element={
          <RequireAuth>
            <ExamplesPage />
          </RequireAuth>
        }
      />
      <Route
        path="/chat"
        element={
          <RequireAuth>
            <ChatPage />
          </RequireAuth>
        }
      />
      <Route
        path="/settings"
        element={
          <RequireAuth>
            <SettingsPage />
          </RequireAuth>
        }
      />
      <Route
        path="/admin"
        element={
          <RequireAuth>
            <RequireAdmin>
              <AdminPage />
            </RequireAdmin>
          </RequireAuth>
        }
      />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
