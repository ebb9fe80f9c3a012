import { randomUUID } from 'node:crypto';

/** The channel the database notifies on whenever a reseller's credentials or status, or an operator key, change (migration 0019). */
export const CREDENTIALS_NOTIFY_CHANNEL = 'hostplane_credentials';

export interface CachedReseller {
  /** sha256 hex of the API key that was verified against the database. */
  keyDigest: string;
  resellerId: number;
  status: string;
}

interface Entry<T> {
  value: T;
  expires: number;
}

export interface CredentialCacheOptions {
  /** How long a verified credential is trusted without asking the database again. */
  ttlMs?: number;
  /** Entries kept per kind; the oldest goes first. */
  maxEntries?: number;
  /** A change whose notification never comes (its transaction rolled back) stops holding the cache off after this long. */
  pendingMs?: number;
  now?: () => number;
}

/**
 * Verified credentials of this process, so that an authenticated request does not cost a database
 * round trip before its real work (ADR 0015). Only what was verified against the database goes in,
 * for a few seconds, and every change to credentials empties it:
 * - a change made by this process calls `changing()` before its UPDATE: the cache is emptied and takes
 *   nothing new until the database's notification for that very change (its id travels in the
 *   notification) says it committed, so a read that saw the old row cannot put it back in between;
 * - the database notifies every listening process (`CREDENTIALS_NOTIFY_CHANNEL`) on commit of any
 *   such change, whoever made it, and each empties its cache;
 * - while the notification channel is not known to be up, nothing is cached at all.
 * A lookup that misses (or whose key does not match) goes to the database and its constant-time check.
 */
export class CredentialCache {
  private readonly resellers = new Map<string, Entry<CachedReseller>>();
  private readonly operators = new Map<string, Entry<number>>();
  private readonly pending = new Map<string, number>();
  private generation = 0;
  private listening = false;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly pendingMs: number;
  private readonly now: () => number;

  constructor(options: CredentialCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.pendingMs = options.pendingMs ?? 30_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether entries may be used and added now. */
  private get open(): boolean {
    if (!this.listening || this.ttlMs <= 0) return false;
    if (this.pending.size) {
      const t = this.now();
      for (const [id, until] of this.pending) if (until <= t) this.pending.delete(id);
      if (this.pending.size) return false;
    }
    return true;
  }

  /** Taken before reading the database; a put with an older ticket is dropped (a change came in between). */
  ticket(): number {
    return this.generation;
  }

  reseller(apiToken: string): CachedReseller | undefined {
    return this.get(this.resellers, apiToken);
  }

  putReseller(apiToken: string, value: CachedReseller, ticket: number): void {
    this.put(this.resellers, apiToken, value, ticket);
  }

  /** The operator key id cached for a key's digest. */
  operator(keyDigest: string): number | undefined {
    return this.get(this.operators, keyDigest);
  }

  putOperator(keyDigest: string, keyId: number, ticket: number): void {
    this.put(this.operators, keyDigest, keyId, ticket);
  }

  /**
   * Called by a use case about to change credentials, before its UPDATE: empties the cache and keeps
   * it shut until the notification carrying the returned id arrives.
   */
  changing(): string {
    const id = randomUUID();
    this.pending.set(id, this.now() + this.pendingMs);
    this.clear();
    return id;
  }

  /** A notification from the database: some credentials changed (the payload names a change of ours, if it was). */
  changed(payload?: string): void {
    if (payload) this.pending.delete(payload);
    this.clear();
  }

  /** The notification channel went up or down; while down, nothing is cached. */
  setListening(up: boolean): void {
    this.listening = up;
    this.clear();
  }

  clear(): void {
    this.generation++;
    this.resellers.clear();
    this.operators.clear();
  }

  private get<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now() || !this.open) {
      map.delete(key);
      return undefined;
    }
    return e.value;
  }

  private put<T>(map: Map<string, Entry<T>>, key: string, value: T, ticket: number): void {
    if (ticket !== this.generation || !this.open) return;
    if (map.size >= this.maxEntries && !map.has(key)) map.delete(map.keys().next().value!);
    map.set(key, { value, expires: this.now() + this.ttlMs });
  }
}
