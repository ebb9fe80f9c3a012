import type { StatusRequest } from '../core/nodes/agent-wire.schema.js';
import type { AgentLog } from './agent-log.js';
import type { ObjectResultT } from './role-driver.js';
import { objectKey } from './state-file.js';
import { WireError, type WireClient } from './wire-client.js';

/** The contract's cap on results per request. */
const MAX_RESULTS = 20_000;

/**
 * Results not yet told to the control plane, the newest per object. They survive a control plane that
 * is down (sent when it returns); an agent that dies with some unsent re-applies everything on start
 * and reports it again, so nothing needs keeping on disk.
 */
export class StatusReporter {
  private readonly unsent = new Map<string, ObjectResultT>();

  constructor(
    private readonly client: WireClient,
    private readonly log: AgentLog,
    private readonly chunk = 5_000,
  ) {}

  get pending(): number {
    return this.unsent.size;
  }

  add(results: ObjectResultT[]): void {
    for (const r of results) {
      const key = objectKey(r);
      const prev = this.unsent.get(key);
      if (!prev || prev.version <= r.version) this.unsent.set(key, r);
    }
  }

  /** Sends what is waiting; throws the WireError of a control plane that cannot take it now (the rest stays queued). */
  async flush(): Promise<void> {
    while (this.unsent.size > 0) {
      const batch = [...this.unsent.values()].slice(0, Math.min(this.chunk, MAX_RESULTS));
      const body: StatusRequest = {
        results: batch.map((r) => ({
          kind: r.kind,
          id: r.id,
          version: r.version,
          ok: r.ok,
          ...(r.ok ? {} : { error: (r.error ?? 'failed').slice(0, 2000) }),
          ...(r.files?.length ? { files: r.files } : {}),
        })),
      };
      try {
        await this.client.status(body);
      } catch (e) {
        // A request the server refuses as sent would be refused forever: say so and drop it.
        if (!(e instanceof WireError) || e.failure !== 'rejected') throw e;
        this.log.error({ err: e.message, results: batch.length }, 'the control plane refused a status report; dropped it');
      }
      for (const r of batch) {
        const key = objectKey(r);
        if (this.unsent.get(key) === r) this.unsent.delete(key);
      }
    }
  }
}
