/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` proxies the API to the backend of `make run`.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/health": "http://127.0.0.1:8000",
    },
  },
  // The manifest (dist/.vite/manifest.json) maps each route's chunk to what it loads: bench/bench_bundle.py reads it.
  // The largest chunks (ECharts about 560 kB, elkjs about 1.4 MB) load only on the screens that draw them.
  build: { outDir: "dist", sourcemap: false, manifest: true, chunkSizeWarningLimit: 1600 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
