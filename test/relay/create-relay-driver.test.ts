import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelayDriver } from '../../src/relay/create-relay-driver.js';
import { HttpRelayDriver } from '../../src/relay/http.driver.js';
import { PostfixMapsRelayDriver } from '../../src/relay/postfix-maps.driver.js';
import { type RelayDriverConfig } from '../../src/relay/relay-driver.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('createRelayDriver', () => {
  it('builds the postfix-maps driver on <dataDir>/relay, with the reload command', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-relay-factory-'));
    dirs.push(dataDir);
    const driver = createRelayDriver({ driver: 'postfix-maps', dataDir, reloadCommand: 'echo reloaded > reloaded.txt' });
    expect(driver).toBeInstanceOf(PostfixMapsRelayDriver);
    expect(driver.name).toBe('postfix-maps');
    await driver.provisionDomain({ name: 'factory.example', mailServers: ['mx.factory.example'] });
    expect(fs.readFileSync(path.join(dataDir, 'relay', 'relay_domains'), 'utf8')).toContain('factory.example  OK\n');
    expect(fs.readFileSync(path.join(dataDir, 'relay', 'reloaded.txt'), 'utf8')).toBe('reloaded\n');
  });

  it('treats a blank reload command as none', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-relay-factory-'));
    dirs.push(dataDir);
    await createRelayDriver({ driver: 'postfix-maps', dataDir, reloadCommand: '   ' }).apply([]);
    expect(fs.readdirSync(path.join(dataDir, 'relay')).sort()).toEqual(['relay_domains', 'transport']);
  });

  it('builds the http driver, which needs a URL', () => {
    const driver = createRelayDriver({ driver: 'http', dataDir: '/unused', httpUrl: 'https://relay.example/hook', httpTimeoutMs: 5000 });
    expect(driver).toBeInstanceOf(HttpRelayDriver);
    expect(driver.name).toBe('http');
    expect(() => createRelayDriver({ driver: 'http', dataDir: '/unused' })).toThrow(/needs a URL \(HOSTPLANE_RELAY_HTTP_URL\)/);
    expect(() => createRelayDriver({ driver: 'http', dataDir: '/unused', httpUrl: 'file:///etc/passwd' })).toThrow(/must be http/);
  });

  it('refuses an unknown driver', () => {
    expect(() => createRelayDriver({ driver: 'sendmail', dataDir: '/unused' } as unknown as RelayDriverConfig)).toThrow(/unknown relay driver "sendmail"/);
  });
});
