// Copy the browser files of the npm packages the dashboard uses into static/vendor/, so
// the hub serves them itself (no CDN, no npm at run time). Run after `npm ci`:
//   cd hub/dashboard && npm ci && npm run vendor
// and commit static/vendor/. VENDORED.json records what was copied, from which version.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");

// package -> files under node_modules/<package>/ (copied to static/vendor/<package>/)
const FILES = {
  leaflet: [
    "dist/leaflet.js", "dist/leaflet.css", "LICENSE",
    "dist/images/layers.png", "dist/images/layers-2x.png",
    "dist/images/marker-icon.png", "dist/images/marker-icon-2x.png",
    "dist/images/marker-shadow.png",
  ],
};

rmSync(out, { recursive: true, force: true });
const record = {};
for (const [pkg, files] of Object.entries(FILES)) {
  const src = join(here, "node_modules", pkg);
  const { version } = JSON.parse(readFileSync(join(src, "package.json"), "utf8"));
  for (const file of files) {
    // dist/ is dropped: static/vendor/leaflet/leaflet.js, …/images/layers.png
    const target = join(out, pkg, file.replace(/^dist\//, ""));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(src, file), target);
  }
  record[pkg] = { version, files };
}
writeFileSync(join(out, "VENDORED.json"), JSON.stringify(record, null, 2) + "\n");
console.log(`vendored into ${out}:`, Object.entries(record).map(([p, r]) => `${p}@${r.version}`).join(", "));
