/**
 * Wakes long-polling agents of this process when their node's desired state changes. The database
 * announces every change on NODES_NOTIFY_CHANNEL (payload: the node id) when it commits; the server
 * process listens and calls `wake`. A lost notification only delays an agent: waits are bounded and
 * callers re-read the node's version before each wait (see waitForNodeState).
 */
export class NodeWaiter {
  private readonly waiting = new Map<number, Set<() => void>>();
  private closed = false;

  /**
   * Registers interest in a node before its state is read, so that a change committing between that
   * read and the wait still wakes it. Resolves true when woken, false when `ms` passed.
   */
  arm(nodeId: number): { wait(ms: number): Promise<boolean>; cancel(): void } {
    let fire: (() => void) | undefined;
    let fired = this.closed;
    const listener = () => {
      fired = true;
      fire?.();
    };
    const set = this.waiting.get(nodeId) ?? new Set();
    set.add(listener);
    this.waiting.set(nodeId, set);
    const cancel = () => {
      set.delete(listener);
      if (set.size === 0 && this.waiting.get(nodeId) === set) this.waiting.delete(nodeId);
    };
    return {
      cancel,
      wait: (ms) =>
        new Promise<boolean>((resolve) => {
          if (fired) {
            cancel();
            resolve(true);
            return;
          }
          const timer = setTimeout(() => {
            cancel();
            resolve(false);
          }, ms);
          fire = () => {
            clearTimeout(timer);
            cancel();
            resolve(true);
          };
        }),
    };
  }

  /** A node's state changed; without a node id (the notification channel came back), every waiter wakes. */
  wake(payload?: string): void {
    if (payload === undefined || payload === '') {
      for (const set of [...this.waiting.values()]) for (const l of [...set]) l();
      return;
    }
    const id = Number(payload);
    const set = this.waiting.get(id);
    if (set) for (const l of [...set]) l();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** How many waits are armed (tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  /** The server is closing: every wait ends now and later ones do not wait. */
  close(): void {
    this.closed = true;
    this.wake();
  }
}
