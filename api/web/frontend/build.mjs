// Builds the browser assets of the web pages into api/web/static/build/ (git-ignored):
// the diagram viewer and the modeler as two esbuild bundles, bpmn-js's own stylesheets and
// icon font copied beside them. Run by `npm run build` (README quick start, .ci/run, Dockerfile).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const out = join(here, "..", "static", "build");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { viewer: join(here, "src", "viewer.js"), modeler: join(here, "src", "modeler.js") },
  bundle: true,
  format: "iife",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  outdir: out,
  logLevel: "warning",
});

// bpmn-js draws with its own CSS; the modeler's palette and context pad use the bpmn-font
// icons, whose "embedded" stylesheet carries the font inline (one file, nothing to fetch).
const assets = join(root, "node_modules", "bpmn-js", "dist", "assets");
cpSync(join(assets, "diagram-js.css"), join(out, "diagram-js.css"));
cpSync(join(assets, "bpmn-js.css"), join(out, "bpmn-js.css"));
cpSync(join(assets, "bpmn-font", "css", "bpmn-embedded.css"), join(out, "bpmn-embedded.css"));
cpSync(join(here, "src", "diagram.css"), join(out, "diagram.css"));
console.log(`isoflow web assets built in ${out}`);
