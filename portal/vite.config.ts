import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// The portal is served by the coffer server under /portal/ (see src/portal).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/portal/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/portal', import.meta.url)),
    emptyOutDir: true,
    // Inline assets would need 'unsafe-inline'/data: in the portal's CSP.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  logLevel: 'warn',
});
