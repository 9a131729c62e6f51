// Validate an AsyncAPI document with the AsyncAPI parser (@asyncapi/parser), resolving its
// references to the JSON Schemas in schemas/. Exit 0 when it parses without error; warnings are
// printed and fail the run too, so the document stays clean.
//
//   node tools/contracts/validate-asyncapi.mjs docs/asyncapi.yaml

import { resolve } from "node:path";
import { Parser, fromFile } from "@asyncapi/parser";

const path = resolve(process.argv[2] ?? "docs/asyncapi.yaml");
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const severities = ["error", "warning", "info", "hint"];
let failed = false;
for (const d of diagnostics) {
  const severity = severities[d.severity] ?? String(d.severity);
  if (d.severity <= 1) failed = true;
  console.error(`${severity}: ${d.message} at ${d.path.join(".") || "(document)"} (${d.code})`);
}
if (!document || failed) {
  console.error(`asyncapi: ${path} is not valid`);
  process.exit(1);
}
const channels = document.channels().all().map((c) => c.address() ?? `(${c.id()})`);
const operations = document.operations().all().map((o) => `${o.action()} ${o.id()}`);
console.log(`asyncapi: ${path} is valid AsyncAPI ${document.version()}: channels ${channels.join(", ")}; operations ${operations.join(", ")}`);
