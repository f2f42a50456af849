// What the login page says when the server stops accepting the session. The server's 401
// detail names the reason (backend/services/auth_service.py user_for_token); the person is told
// that reason in plain words instead of a generic "expired".

export const EXPIRED = "Your session has expired. Please log in again.";

export function sessionEnded(detail: string | null | undefined): string {
  const text = (detail ?? "").toLowerCase();
  if (text.includes("disabled")) return "This account has been disabled. Ask an administrator to enable it.";
  if (text.includes("session has ended"))
    return "You were logged out: the session was ended or the password was changed. Please log in again.";
  if (text.includes("expired")) return EXPIRED;
  if (text.includes("not authenticated")) return "Please log in.";
  return EXPIRED;
}
