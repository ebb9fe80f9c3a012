import fs from 'node:fs';
import path from 'node:path';
import { openApiDocument } from './app.js';

// `npm run build` writes the OpenAPI document (no database, no socket) for the web console's
// generated API client: node dist/openapi-export.js <file>.
const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node dist/openapi-export.js <file>\n');
  process.exit(2);
}
const doc = await openApiDocument();
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
