import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The build must run under the strict CSP the server sends with the app (no inline script or
// style, no eval): assets are never inlined as data: URLs and there is no module-preload polyfill.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  worker: { format: 'es' },
  // `npm run dev --prefix web` / `vite preview`: the API is a Parley server on PARLEY_API (default :4000).
  server: {
    proxy: {
      '/graphql': { target: process.env.PARLEY_API ?? 'http://localhost:4000', ws: true },
      '/attachments': process.env.PARLEY_API ?? 'http://localhost:4000',
    },
  },
});
