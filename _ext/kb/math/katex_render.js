// Render LaTeX with KaTeX for the Sphinx extension `katex_prerender`.
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in order.
//   request: {"latex": "...", "display": true|false}
//   answer:  {"html": "..."} or {"error": "...", "warnings": [...]}; "warnings" lists strict-mode
//   complaints (LaTeX-incompatible input) that KaTeX would otherwise only print to the console.
// The first line of argv[2] is a JSON object of macros; they are copied for every formula so
// that a \gdef in one formula cannot leak into the next.
// The process exits when stdin closes, so it can never outlive the build that started it.
"use strict";
const katex = require(process.env.KATEX_MODULE || "katex");
const readline = require("readline");

const macros = JSON.parse(process.argv[2] || "{}");

function render(request) {
  const warnings = [];
  try {
    const html = katex.renderToString(request.latex, {
      displayMode: Boolean(request.display),
      throwOnError: true,
      macros: Object.assign({}, macros),
      strict: (errorCode, message) => {
        warnings.push(`${message} [${errorCode}]`);
        return "ignore";
      },
      trust: false,
      output: "htmlAndMathml",
    });
    return { html, warnings };
  } catch (err) {
    return { error: err instanceof katex.ParseError ? err.message : String(err), warnings };
  }
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  process.stdout.write(JSON.stringify(render(JSON.parse(line))) + "\n");
});
rl.on("close", () => process.exit(0));
process.stdout.write(JSON.stringify({ ready: katex.version }) + "\n");
