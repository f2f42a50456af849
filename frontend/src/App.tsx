import { useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useAuth } from "./auth";
import AdminPage from "./pages/AdminPage";
import ChatPage from "./pages/ChatPage";
import ConnectionsPage from "./pages/ConnectionsPage";
import DashboardPage from "./pages/DashboardPage";
import LoginPage from "./pages/LoginPage";
import SettingsPage from "./pages/SettingsPage";

function Layout({ children }: { children: React.ReactNode }) {
  const { email, logout, api } = useAuth();
  const [role, setRole] = useState<string | null>(null);
  useEffect(() => {
    api
      .me()
      .then((me) => setRole(me.role))
      .catch(() => undefined);
  }, [api]);
  const link = ({ isActive }: { isActive: boolean }) =>
    `rounded px-3 py-2 text-sm ${isActive ? "bg-blue-700 text-white" : "text-slate-700 hover:bg-slate-200"}`;
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <nav aria-label="Main" className="mx-auto flex max-w-7xl items-center gap-2 px-4 py-2">
          <span className="mr-4 font-semibold text-slate-900">Sextant</span>
          <NavLink to="/" end className={link}>
            Dashboard
          </NavLink>
          <NavLink to="/connections" className={link}>
            Connections
          </NavLink>
          <NavLink to="/chat" className={link}>
            Chat
          </NavLink>
          <NavLink to="/settings" className={link}>
            Settings
          </NavLink>
          {role === "admin" && (
            <NavLink to="/admin" className={link}>
              Admin
            </NavLink>
          )}
          <span className="ml-auto text-sm text-slate-600">{email}</span>
          <button
            type="button"
            onClick={() => logout(undefined, true)}
            className="rounded px-3 py-2 text-sm text-slate-700 hover:bg-slate-200"
          >
            Log out
          </button>
        </nav>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-6">{children}</main>
    </div>
  );
}

function RequireAuth({ children }: { children: React.ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === "checking") return <p className="p-6 text-sm text-slate-500">Loading…</p>;
  if (status === "out") return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <Layout>{children}</Layout>;
}

export default function App() {
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
            <AdminPage />
          </RequireAuth>
        }
      />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
