import { buildTemplate } from './db/pglite-template-build.js';
import { TEMPLATE_FILE } from './db/pglite-template.js';

// `npm run build` writes the migrated, empty embedded database that a new data dir starts from:
// node dist/pglite-template-export.js [file] (default: next to dist/db/pglite-template.js).
await buildTemplate(process.argv[2] ?? TEMPLATE_FILE);
