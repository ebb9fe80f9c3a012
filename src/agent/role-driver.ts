/**
 * What the agent asks of each role's driver (web today; db and relay later). Drivers own their files,
 * processes and connections; the agent owns the loop, the local state and the wire.
 *
 * Drivers are idempotent: applying an object already true changes nothing (no reload, no rewrite),
 * so the agent re-applies everything after a restart and converges whatever a crash left behind.
 * A failure of one object is that object's result, never an exception that stops the batch.
 */
import type { ObjectResult, ReportedInstanceUser, UsageRequest, WireObject } from '../core/nodes/agent-wire.schema.js';

/** `files`: a database object's staged files its ir_attachment now holds (the control plane then clears them). */
export type ObjectResultT = { kind: WireObject['kind']; id: string; version: number; ok: boolean; error?: string; files?: number[] };
export type UsageSampleT = UsageRequest['samples'][number];

export interface RoleDriver {
  readonly role: 'web' | 'db' | 'relay';
  /** The driver's key in the heartbeat when a role has several drivers (the db role: `db-user`, `pg-database`); else the role. */
  readonly name?: string;
  /** The object kinds this driver makes true. */
  readonly kinds: readonly WireObject['kind'][];
  /** Prepares the driver's own server (e.g. starts or checks nginx); throws when the role cannot work at all. */
  start(): Promise<void>;
  /**
   * Makes a batch true: present objects created or updated, absent ones removed (archived first
   * where the role says so). One reload per batch. Returns one result per object given.
   */
  apply(objects: WireObject[]): Promise<ObjectResultT[]>;
  /** Usage samples for the objects this driver holds (storage, transfer counters). */
  observe(): Promise<UsageSampleT[]>;
  /**
   * The whole list of users of a database this driver holds, with its digest (db role, docs/adr/0027):
   * read only when the control plane answers a sample's digest with `usersWanted`.
   */
  userList?(id: string): Promise<{ digest: string; users: ReportedInstanceUser[] } | undefined>;
  /** Whether the role's server is working, for the heartbeat. */
  health(): Promise<{ ok: boolean; error?: string }>;
  /** Stops what the driver started (tests, shutdown); what was applied keeps its files. */
  stop(): Promise<void>;
}

// Keeps the import of the wire type honest: a result the driver returns is a wire result.
export type { ObjectResult };
