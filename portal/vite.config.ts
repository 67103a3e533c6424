import { defineConfig } from "vite";

// Built into the Python package (app/portal_assets/static), served at /portal/ by the service.
export default defineConfig({
  base: "/portal/",
  build: {
    outDir: "../app/portal_assets/static",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
