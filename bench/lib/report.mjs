// The result table: rows (addRow), notes, formatting, machine facts, printing.
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { CONNECTIONS, WARMUP_S, ROUND_S, ROUNDS, ONLY_ROWS, startedAt, loadAtStart } from './core.mjs';

const rows = [];
export const notes = [];
export const fmt = {
  rps: (v) => `${v.toFixed(0)} req/s`,
  ms: (v) => (v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`),
  mb: (v) => `${(v / 1024 / 1024).toFixed(1)} MB`,
  x: (v) => `${v.toFixed(2)}x`,
};
export function addRow(order, caseName, ours, floor, ratio, target, pass) {
  rows.push({ order, case: caseName, ours, floor, ratio, target, result: pass === undefined ? 'info' : pass ? 'PASS' : 'FAIL' });
}

export async function machineFacts(adminUrl) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  const { rows: r } = await c.query('show server_version');
  await c.end();
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return { cpu: cpu.trim(), cores: os.cpus().length, node: process.version, postgres: r[0].server_version, kernel: os.release(), memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB` };
}

export const cpuNote = (res) =>
  `CPU per request: server process ours ${res.ours.serverUs.toFixed(0)} us vs floor ${res.floor.serverUs.toFixed(0)} us, ` +
  `PostgreSQL ours ${res.ours.pgUs.toFixed(0)} us vs floor ${res.floor.pgUs.toFixed(0)} us`;

export function checkClean(label, res) {
  for (const [name, r] of Object.entries(res)) {
    if (r.bad || r.errors) throw new Error(`${label}: ${name} had ${r.bad} non-2xx answers ${JSON.stringify(r.badCodes)} and ${r.errors} errors/timeouts`);
  }
}

export function printTable(facts) {
  const header = { case: 'case', ours: 'ours', floor: 'floor', ratio: 'ratio', target: 'target', result: 'result' };
  const cells = [...rows].sort((a, b) => a.order - b.order).map((r) => ({ ...r, ratio: r.ratio === undefined ? '-' : fmt.x(r.ratio) }));
  const cols = Object.keys(header);
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(header[c].length, ...cells.map((r) => String(r[c]).length))]));
  const line = (r) => `| ${cols.map((c) => String(r[c]).padEnd(width[c])).join(' | ')} |`;
  const out = [
    '',
    `Hostplane bench: ${facts.cpu}, ${facts.cores} cores, ${facts.memory} RAM, Linux ${facts.kernel}, Node ${facts.node}, PostgreSQL ${facts.postgres}`,
    `load: autocannon in the bench process, ${CONNECTIONS} connections, ${WARMUP_S}s warm-up each, ${ROUNDS} alternating rounds x ${ROUND_S}s per side; ` +
      `1-min load average ${loadAtStart.toFixed(2)} at start; CPU busy during the run ${(facts.busy * 100).toFixed(0)}% of ${facts.cores} cores, of which other processes (not the bench, its servers or PostgreSQL) ${(facts.foreign * 100).toFixed(0)}%; bench took ${((performance.now() - startedAt) / 1000).toFixed(0)}s`,
    '',
    line(header),
    `|${cols.map((c) => '-'.repeat(width[c] + 2)).join('|')}|`,
    ...cells.map(line),
    '',
    ...[...notes].sort((a, b) => a.order - b.order).map((n) => `- ${n.text}`),
    '',
  ];
  if (ONLY_ROWS) out.push(`Only rows ${[...ONLY_ROWS].join(', ')} ran (BENCH_ROWS); the others were left out.`, '');
  process.stdout.write(out.join('\n'));
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  process.stdout.write(failed ? `${failed} target(s) missed.\n` : 'All targets met.\n');
}
