import path from 'node:path';
import { defineConfig } from 'vite';

// The console is served by the Hostplane server at /console (src/facades/console/web-console.routes.ts),
// from dist/console, with hashed asset names that may be cached for a year.
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  // The CSP allows scripts and styles from this server only: no inline modulepreload polyfill.
  build: {
    outDir: path.resolve(import.meta.dirname, '..', 'dist', 'console'),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    sourcemap: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // React Query marks its modules "use client" for server components; a browser bundle ignores it.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { proxy: { '/admin': 'http://127.0.0.1:8080' } },
});
