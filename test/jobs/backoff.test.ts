import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/jobs/job-runner.js';

// The retry delay on its own: doubling per attempt, jitter that only ever shortens a delay by up to a
// fifth, and a cap. The runner's use of it is checked in provisioning.test.ts, on a real queue.
const BASE = 2_000;
const CAP = 60 * 60_000;
const lowest = () => 0;
// The largest double below 1, the top of what Math.random can return.
const highest = () => 1 - 2 ** -53;

describe('backoffDelayMs', () => {
  it('doubles with every attempt, starting at the base', () => {
    const middle = () => 0.5;
    expect(backoffDelayMs(1, BASE, CAP, middle)).toBe(1_800);
    for (let attempt = 1; attempt < 10; attempt++) {
      expect(backoffDelayMs(attempt + 1, BASE, CAP, middle)).toBe(2 * backoffDelayMs(attempt, BASE, CAP, middle));
    }
  });

  it('keeps the jitter within the last fifth of the delay, so attempt n+1 always waits longer than attempt n', () => {
    for (let attempt = 1; attempt <= 11; attempt++) {
      const full = BASE * 2 ** (attempt - 1);
      expect(backoffDelayMs(attempt, BASE, CAP, lowest)).toBe(0.8 * full);
      expect(backoffDelayMs(attempt, BASE, CAP, highest)).toBe(full);
      // The shortest next delay (1.6×) is longer than the longest delay of this attempt (1×).
      expect(backoffDelayMs(attempt + 1, BASE, CAP, lowest)).toBeGreaterThan(backoffDelayMs(attempt, BASE, CAP, highest));
    }
  });

  it('spreads real random jitter over the whole range', () => {
    const draws = Array.from({ length: 2_000 }, () => backoffDelayMs(4, BASE, CAP));
    for (const d of draws) {
      expect(d).toBeGreaterThanOrEqual(12_800);
      expect(d).toBeLessThanOrEqual(16_000);
    }
    // Retries of a burst must not line up: the draws fall in both halves of the range.
    expect(draws.some((d) => d < 14_400)).toBe(true);
    expect(draws.some((d) => d > 14_400)).toBe(true);
  });

  it('stops growing at the cap, jitter included, however many attempts there were', () => {
    // 2 s doubled 11 times is past an hour.
    for (const attempt of [12, 13, 85, 2_000]) {
      expect(backoffDelayMs(attempt, BASE, CAP, highest)).toBe(CAP);
      expect(backoffDelayMs(attempt, BASE, CAP, lowest)).toBe(0.8 * CAP);
    }
    expect(backoffDelayMs(11, BASE, CAP, highest)).toBe(BASE * 2 ** 10);
  });

  it('treats a missing or zero attempt count as the first attempt', () => {
    expect(backoffDelayMs(0, BASE, CAP, highest)).toBe(BASE);
    expect(backoffDelayMs(-3, BASE, CAP, highest)).toBe(BASE);
  });
});
