// Validates AsyncAPI documents (JSON or YAML files) with the official
// AsyncAPI parser: prints each diagnostic, and exits 1 if any document has
// an error (warnings and hints are printed, not fatal).
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { readFile } from 'node:fs/promises';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE..');
  process.exit(2);
}
const parser = new Parser();
const severity = ['error', 'warning', 'info', 'hint'];
let failed = 0;
for (const file of files) {
  const text = await readFile(file, 'utf8');
  const { document, diagnostics } = await parser.parse(text, { source: file });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  // Errors and warnings; infos and hints (such as "3.1.0 is out") are not shown.
  for (const d of diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning)) {
    const at = d.path && d.path.length ? ` at ${d.path.join('.')}` : '';
    console.log(`${file}: ${severity[d.severity] ?? d.severity}: ${d.code}: ${d.message}${at}`);
  }
  if (document === undefined || errors.length > 0) {
    failed += 1;
    console.log(`${file}: INVALID (${errors.length} error(s))`);
  } else {
    const channels = document.channels().length;
    const operations = document.operations().length;
    const messages = document.components().messages().length;
    console.log(`${file}: valid AsyncAPI ${document.version()} (${channels} channels, ${operations} operations, ${messages} messages)`);
  }
}
process.exit(failed > 0 ? 1 : 0);
