// The console is served by the service at /console/ (service/kit/console.py): its build goes into the
// Python package, service/console/, with a stamp of the sources it was built from, which the tests
// compare with the sources as they are.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, URL } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig, type Plugin } from "vite";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const OUT = join(HERE, "..", "service", "console");
// What the bundle is built from; service/kit/console.py lists the same.
const SOURCES = ["index.html", "package-lock.json", "tsconfig.json", "vite.config.ts", "src"];

function files(path: string): string[] {
  return statSync(path).isDirectory() ? readdirSync(path).flatMap((name) => files(join(path, name))) : [path];
}

/** sha256 over each source file's path and bytes, in path order. */
function sourcesDigest(): string {
  const hash = createHash("sha256");
  const all = SOURCES.flatMap((source) => files(join(HERE, source)))
    .map((path) => relative(HERE, path).split("\\").join("/"))
    .sort();
  for (const path of all) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(HERE, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const stamp: Plugin = {
  name: "tanpuhui-build-stamp",
  closeBundle() {
    writeFileSync(join(OUT, "build-stamp.json"), JSON.stringify({ sources_sha256: sourcesDigest() }, null, 2) + "\n");
  },
};

export default defineConfig({
  base: "/console/",
  plugins: [vue(), stamp],
  resolve: { alias: { "@": join(HERE, "src") } },
  build: {
    outDir: OUT,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks: {
          "element-plus": ["element-plus"],
          echarts: ["echarts/core", "echarts/charts", "echarts/components", "echarts/renderers"],
        },
      },
    },
  },
  server: { proxy: { "/v1": "http://127.0.0.1:8000" } },
});
