// The colour theme: the system's preference unless the person picked one. The choice is a
// display preference, not a secret, so it is kept in localStorage (unlike the session).

export type ThemePref = "system" | "light" | "dark";
const KEY = "sextant-theme";
const DARK_QUERY = "(prefers-color-scheme: dark)";

export function resolveTheme(pref: ThemePref, systemDark: boolean): "light" | "dark" {
  return pref === "system" ? (systemDark ? "dark" : "light") : pref;
}

export function storedTheme(): ThemePref {
  const value = localStorage.getItem(KEY);
  return value === "light" || value === "dark" ? value : "system";
}

/** Applies ``pref`` to the page (the `dark` class on <html>) and remembers it. */
export function applyTheme(pref: ThemePref): void {
  if (pref === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, pref);
  const dark = resolveTheme(pref, window.matchMedia?.(DARK_QUERY).matches ?? false) === "dark";
  document.documentElement.classList.toggle("dark", dark);
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
}

/** Follows the system's changes while the preference is "system"; returns the unsubscribe. */
export function followSystem(onChange: () => void): () => void {
  const query = window.matchMedia?.(DARK_QUERY);
  if (!query) return () => undefined;
  query.addEventListener("change", onChange);
  return () => query.removeEventListener("change", onChange);
}
