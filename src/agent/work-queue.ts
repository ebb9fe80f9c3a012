import type { WireObject } from '../core/nodes/agent-wire.schema.js';
import { backoffMs } from './backoff.js';
import { objectKey } from './state-file.js';

export interface PendingObject {
  object: WireObject;
  /** Failed tries of this version so far. */
  attempts: number;
  /** Not before this time (ms since epoch). */
  dueAt: number;
  /** False for removals the agent decided on its own (objects the control plane no longer lists): nothing to report. */
  report: boolean;
}

/**
 * Objects waiting to be made true, one per kind and id: a newer version replaces an older one (and
 * its failed tries), so a site changed three times while its first change kept failing is applied
 * once, at its newest version. Failed objects come back after a growing delay.
 */
export class WorkQueue {
  private readonly items = new Map<string, PendingObject>();

  constructor(private readonly retry: { baseMs: number; maxMs: number }) {}

  get size(): number {
    return this.items.size;
  }

  put(object: WireObject, report = true): void {
    this.items.set(objectKey(object), { object, attempts: 0, dueAt: 0, report });
  }

  /** Everything due now, oldest first as inserted. */
  due(now: number): PendingObject[] {
    return [...this.items.values()].filter((p) => p.dueAt <= now);
  }

  /** Done with this version: forgotten, unless a newer one arrived meanwhile. */
  done(object: WireObject): void {
    const key = objectKey(object);
    const p = this.items.get(key);
    if (p && p.object.version === object.version) this.items.delete(key);
  }

  failed(object: WireObject, now: number): number {
    const p = this.items.get(objectKey(object));
    if (!p || p.object.version !== object.version) return 0;
    p.attempts++;
    const delay = backoffMs(p.attempts, this.retry.baseMs, this.retry.maxMs);
    p.dueAt = now + delay;
    return delay;
  }

  /** When the next failed object is due again (ms since epoch), or undefined when none waits. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const p of this.items.values()) if (next === undefined || p.dueAt < next) next = p.dueAt;
    return next;
  }

  failures(): number {
    let n = 0;
    for (const p of this.items.values()) if (p.attempts > 0) n++;
    return n;
  }
}
