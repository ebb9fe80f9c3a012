import pg from 'pg';
import { mixedLoadRow } from '../mixed-load.mjs';
import { dbs, tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { HOST, log } from '../lib/core.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { addRow, fmt, notes } from '../lib/report.mjs';
import { median, percentile } from '../lib/stats.mjs';

/** Row 12: a mixed load with heavy collect calls, on a PGlite server and on a database of its own (bench/mixed-load.mjs). */
export async function mixedRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const helpers = { HOST, log, request, freePort, startProcess, stopProcess, waitHealthy, tempDirs, median, percentile, fmt, addRow, notes };
  const pgDatabase = async (suffix) => {
    const name = `${dbName}_${suffix}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.mixed = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
    const url = new URL(parsedUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  await mixedLoadRow(helpers, { commonEnv, pgDatabase });
}
