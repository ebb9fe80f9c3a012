// Preload of bench/tail-diag.mjs (node --import): counts GCs (PerformanceObserver) and measures
// event-loop delay; on SIGUSR2 writes one `DIAG_MARK {json}` line to stdout with the figures since the
// previous mark. With DIAG_HEAP_SAMPLE=<dir>, a sampling heap profile that keeps the objects a
// scavenge let through and a mark-compact later freed (the ones that make scavenges slow) is written
// to <dir>/<pid>-<n>.heapprofile at each mark.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { Session } from 'node:inspector';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

const gc = { minor: 0, major: 0, other: 0, minorMs: 0, majorMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const k = e.detail?.kind;
    if (k === 1) {
      gc.minor++;
      gc.minorMs += e.duration;
    } else if (k === 4) {
      gc.major++;
      gc.majorMs += e.duration;
    } else gc.other++;
    if (e.duration > gc.maxMs) gc.maxMs = e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();

const sampleDir = process.env.DIAG_HEAP_SAMPLE;
let session;
let marks = 0;
const startSampling = () =>
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
if (sampleDir) {
  session = new Session();
  session.connect();
  startSampling();
}

process.on('SIGUSR2', () => {
  const cpu = process.cpuUsage();
  const out = { gc: { ...gc }, eld: { mean: eld.mean / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 }, cpuUs: cpu.user + cpu.system, heap: process.memoryUsage(), spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.physical_space_size / 1024)])) };
  eld.reset();
  const n = ++marks;
  if (!session) {
    fs.writeSync(1, `\nDIAG_MARK ${JSON.stringify(out)}\n`);
    return;
  }
  // A scavenge first drops the young garbage, so what the profile keeps is what was promoted (run the
  // process with --expose-gc, and with --initial-old-space-size large enough that no mark-compact runs).
  globalThis.gc?.({ type: 'minor' });
  session.post('HeapProfiler.stopSampling', (err, res) => {
    if (!err) fs.writeFileSync(path.join(sampleDir, `${process.pid}-${n}.heapprofile`), JSON.stringify(res.profile));
    startSampling();
    fs.writeSync(1, `\nDIAG_MARK ${JSON.stringify(out)}\n`);
  });
});
