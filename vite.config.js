// Builds the viewer bundle into static/build/ for Django's static files; templates find the
// hashed file names through static/build/.vite/manifest.json ({% vite_asset %}).
import { defineConfig } from 'vite';

export default defineConfig({
  root: '.',
  base: '/static/build/',
  publicDir: false,
  build: {
    outDir: 'static/build',
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: {
        'ct-viewer': 'static/viewer-src/ct-viewer.js',
        'cxr-viewer': 'static/viewer-src/cxr-viewer.js',
      },
    },
  },
  // Decoder workers import ES modules (codecs); Vite 7 needs this, Vite 8 accepts it.
  worker: { format: 'es' },
});
