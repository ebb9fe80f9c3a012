import fs from 'node:fs';
import { expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

it('the version the server and CLI report is the package version', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(VERSION).toBe(pkg.version);
});
