import fs from 'node:fs';
import path from 'node:path';

/** The HSP seed's JSON examples, extracted verbatim into test/fixtures/hsp. */
export function hspFixture<T = unknown>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'hsp', `${name}.json`), 'utf8')) as T;
}
