// Bundles js/canvas.js, js/form.js and js/studio.js into the files the widgets load (qamera_widgets/widgets/static/),
// as ES modules with nothing fetched at run time. `--check` builds into a temporary folder instead and
// fails when the committed files differ from a fresh build (someone edited js/ and did not rebuild).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const STATIC = "qamera_widgets/widgets/static";
const ENTRIES = ["canvas", "form", "studio"];
const BANNER = "// Built from js/ by `npm run build` (esbuild): edit the sources there, not this file.";

const check = process.argv.includes("--check");
const outdir = check ? mkdtempSync(join(tmpdir(), "qw-js-")) : STATIC;
try {
  await build({
    entryPoints: ENTRIES.map((name) => `js/${name}.js`),
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    charset: "utf8",
    minify: true, // sent in every widget model's state; the readable sources are in js/
    legalComments: "none",
    banner: { js: BANNER },
    logLevel: "warning",
  });
  if (check) {
    const stale = ENTRIES.filter((name) => {
      const built = readFileSync(join(outdir, `${name}.js`), "utf8");
      let committed = "";
      try {
        committed = readFileSync(join(STATIC, `${name}.js`), "utf8");
      } catch {}
      return built !== committed;
    });
    if (stale.length) {
      console.error(
        `${stale.map((name) => `${STATIC}/${name}.js`).join(" and ")} differ from a fresh build of js/: ` +
          "run `npm run build` and commit the result.",
      );
      process.exit(1);
    }
    console.log(`${ENTRIES.length} bundles match a fresh build of js/.`);
  }
} finally {
  if (check) rmSync(outdir, { recursive: true, force: true });
}
