import fs from 'node:fs';
import { RelayDomainObject, type WireObject } from '../../../core/nodes/agent-wire.schema.js';
import { createRelayDriver } from '../../../relay/create-relay-driver.js';
import type { RelayDriver, RelayOp } from '../../../relay/relay-driver.js';
import { isCanonicalDomainName } from '../../../relay/relay-names.js';
import type { AgentLog } from '../../agent-log.js';
import type { ObjectResultT, RoleDriver, UsageSampleT } from '../../role-driver.js';

export interface RelayRoleSettings {
  /** postfix-maps writes `relay_domains` and `transport` here; http POSTs every change to `httpUrl`. */
  driver: 'postfix-maps' | 'http';
  relayDir: string;
  /** postfix-maps: run with `/bin/sh -c` in the relay dir once per batch (postmap, postfix reload). */
  reloadCommand?: string | undefined;
  httpUrl?: string | undefined;
  httpTimeoutMs?: number | undefined;
  log: AgentLog;
}

/**
 * The relay role (ADR 0022): each `relay_domain` object is one domain the node's Postfix (or the
 * external system behind the http driver) accepts mail for and forwards to the domain's mail
 * servers. The map writing and the http calls are the same drivers the control plane runs in a
 * one-machine install (src/relay): a batch of objects is one batch of ops, so the maps are rewritten
 * and the reload command runs once per batch.
 *
 * An object that does not fit the contract, or whose id is not the canonical name its spec names,
 * fails on its own before anything is written; the rest of the batch goes on. A failure of the maps
 * or of the http target fails every object of the batch (they were applied together), and the agent
 * retries them with backoff.
 */
export class RelayRoleDriver implements RoleDriver {
  readonly role = 'relay' as const;
  readonly kinds = ['relay_domain'] as const satisfies readonly WireObject['kind'][];
  private readonly relay: RelayDriver;
  private lastError: string | undefined;

  constructor(private readonly s: RelayRoleSettings) {
    // Throws now on a setting that cannot work (an http driver without a URL): the agent does not start.
    this.relay = createRelayDriver({
      driver: s.driver,
      dataDir: s.relayDir,
      relayDir: s.relayDir,
      ...(s.reloadCommand ? { reloadCommand: s.reloadCommand } : {}),
      ...(s.httpUrl ? { httpUrl: s.httpUrl } : {}),
      ...(s.httpTimeoutMs ? { httpTimeoutMs: s.httpTimeoutMs } : {}),
    });
  }

  async start(): Promise<void> {
    if (this.s.driver === 'postfix-maps') await fs.promises.mkdir(this.s.relayDir, { recursive: true, mode: 0o755 });
  }

  async apply(objects: WireObject[]): Promise<ObjectResultT[]> {
    const results: ObjectResultT[] = objects.map((o) => ({ kind: 'relay_domain', id: String(o?.id ?? ''), version: Number(o?.version ?? 0), ok: false }));
    const ops: RelayOp[] = [];
    const applied: number[] = [];
    objects.forEach((raw, i) => {
      const parsed = RelayDomainObject.safeParse(raw);
      if (!parsed.success) {
        results[i]!.error = `invalid object: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`.slice(0, 2000);
        return;
      }
      const o = parsed.data;
      // The id is what ends up in the maps: it must be the canonical name, and the spec must agree.
      if (!isCanonicalDomainName(o.id) || (o.spec?.domain !== undefined && o.spec.domain !== o.id)) {
        results[i]!.error = `relay object id ${JSON.stringify(o.id).slice(0, 300)} must be the canonical domain name its spec names`;
        return;
      }
      ops.push(o.state === 'present' ? { op: 'provision', domain: { name: o.id, mailServers: o.spec.mailServers } } : { op: 'deprovision', name: o.id });
      applied.push(i);
    });
    if (ops.length === 0) return results;
    try {
      await this.relay.apply(ops);
      this.lastError = undefined;
      for (const i of applied) results[i]!.ok = true;
    } catch (e) {
      const why = (e as Error).message.slice(0, 2000);
      this.lastError = why;
      this.s.log.warn({ err: why, objects: applied.length }, 'relay batch failed');
      for (const i of applied) results[i]!.error = why;
    }
    return results;
  }

  /** Relays meter nothing yet. */
  async observe(): Promise<UsageSampleT[]> {
    return [];
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    if (this.s.driver === 'postfix-maps') {
      try {
        await fs.promises.access(this.s.relayDir, fs.constants.W_OK);
      } catch (e) {
        return { ok: false, error: `${this.s.relayDir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
      }
    }
    return this.lastError ? { ok: false, error: `last batch failed: ${this.lastError}` } : { ok: true };
  }

  async stop(): Promise<void> {}
}
