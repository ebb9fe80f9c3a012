import { expect } from 'vitest';

/**
 * Asserts that `actual` has the shape of a documented example: the same keys, and values of the same
 * JSON types, recursively (arrays compared element-wise against the example's first element).
 * A null in the example accepts null or a string, since the seed shows null for optional text.
 */
export function expectSameShape(actual: unknown, example: unknown, path = '$'): void {
  if (example === null) {
    expect(actual === null || typeof actual === 'string', `${path} should be null or a string`).toBe(true);
    return;
  }
  if (Array.isArray(example)) {
    expect(Array.isArray(actual), `${path} should be an array`).toBe(true);
    if (example.length > 0) for (const [i, item] of (actual as unknown[]).entries()) expectSameShape(item, example[0], `${path}[${i}]`);
    return;
  }
  if (typeof example === 'object') {
    expect(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path} should be an object`).toBe(true);
    expect(Object.keys(actual as object).sort(), `${path} keys`).toEqual(Object.keys(example as object).sort());
    for (const key of Object.keys(example as object)) expectSameShape((actual as Record<string, unknown>)[key], (example as Record<string, unknown>)[key], `${path}.${key}`);
    return;
  }
  expect(typeof actual, `${path} type`).toBe(typeof example);
}
