import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: path.resolve('./data'),
      databaseUrl: undefined,
      publicUrl: 'http://127.0.0.1:8080',
      relayHosts: ['relay1.hostplane.test', 'relay2.hostplane.test'],
      relayPriorityStep: 10,
      logLevel: 'info',
      bodyLimit: 256 * 1024,
      demo: 'auto',
      relayDriver: 'postfix-maps',
      relayReloadCommand: undefined,
      relayHttpUrl: undefined,
      relayHttpTimeoutMs: 10000,
      worker: true,
      webhookTimeoutMs: 10000,
      webhookAllowPrivate: false,
      rpcDb: 'hostplane',
      familyRenewalGapSeconds: 0,
      dbTimeouts: { connectMs: 10000, statementMs: 30000, lockMs: 10000, idleInTransactionMs: 60000, queryMs: 35000, stallMs: 2000, probeMs: 1000 },
      crmTokenIdleSeconds: 30 * 86_400,
      credentialCacheMs: 5000,
      nodeUnhealthySeconds: 30,
      nodeHeartbeatSeconds: 10,
      nodeUsageSeconds: 60,
      nodeArchiveDays: 30,
      localAgent: { enabled: false, nginxPrefix: undefined, httpPort: 80, webDriver: 'nginx', nginxBin: undefined, phpFpmBin: undefined },
    });
  });

  it('database deadlines: the query deadline follows the statement timeout unless set, 0 turns one off', () => {
    expect(loadConfig({ HOSTPLANE_DB_STATEMENT_TIMEOUT_MS: '120000' }).dbTimeouts.queryMs).toBe(125000);
    expect(loadConfig({ HOSTPLANE_DB_STATEMENT_TIMEOUT_MS: '0' }).dbTimeouts).toMatchObject({ statementMs: 0, queryMs: 0 });
    expect(loadConfig({ HOSTPLANE_DB_QUERY_TIMEOUT_MS: '4000', HOSTPLANE_DB_CONNECT_TIMEOUT_MS: '800', HOSTPLANE_DB_LOCK_TIMEOUT_MS: '0', HOSTPLANE_DB_STALL_MS: '500', HOSTPLANE_DB_PROBE_TIMEOUT_MS: '300', HOSTPLANE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '9000' }).dbTimeouts).toEqual({
      connectMs: 800,
      statementMs: 30000,
      lockMs: 0,
      idleInTransactionMs: 9000,
      queryMs: 4000,
      stallMs: 500,
      probeMs: 300,
    });
    expect(() => loadConfig({ HOSTPLANE_DB_STATEMENT_TIMEOUT_MS: '-1' })).toThrow(/HOSTPLANE_DB_STATEMENT_TIMEOUT_MS/);
    expect(() => loadConfig({ HOSTPLANE_DB_PROBE_TIMEOUT_MS: 'soon' })).toThrow(/HOSTPLANE_DB_PROBE_TIMEOUT_MS/);
  });

  it('empty variables count as unset', () => {
    expect(loadConfig({ PORT: '', HOSTPLANE_PUBLIC_URL: '', DATABASE_URL: '', HOSTPLANE_DEMO: '' })).toEqual(loadConfig({}));
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '0.0.0.0',
      HOSTPLANE_DATA_DIR: '/var/lib/hostplane',
      DATABASE_URL: 'postgresql://user:pw@db.internal:5432/hostplane',
      HOSTPLANE_PUBLIC_URL: 'https://panel.example.com/',
      HOSTPLANE_RELAY_HOSTS: ' Relay1G.Spamh.com. , relay1h.spamh.com',
      HOSTPLANE_RELAY_PRIORITY_STEP: '5',
      HOSTPLANE_LOG_LEVEL: 'debug',
      HOSTPLANE_BODY_LIMIT: '1048576',
      HOSTPLANE_DEMO: 'off',
      HOSTPLANE_RELAY_DRIVER: 'http',
      HOSTPLANE_RELAY_HTTP_URL: 'https://relay-api.internal/changes',
      HOSTPLANE_RELAY_HTTP_TIMEOUT_MS: '2500',
      HOSTPLANE_RELAY_RELOAD_COMMAND: 'postfix reload',
      HOSTPLANE_WORKER: 'off',
      HOSTPLANE_WEBHOOK_TIMEOUT_MS: '3000',
      HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true',
      HOSTPLANE_RPC_DB: 'portal',
      HOSTPLANE_CREDENTIAL_CACHE_MS: '0',
      HOSTPLANE_NODE_UNHEALTHY_SECONDS: '45',
      HOSTPLANE_NODE_HEARTBEAT_SECONDS: '5',
      HOSTPLANE_NODE_USAGE_SECONDS: '2',
      HOSTPLANE_NODE_ARCHIVE_DAYS: '7',
    });
    expect(config).toEqual({
      port: 9090,
      host: '0.0.0.0',
      dataDir: '/var/lib/hostplane',
      databaseUrl: 'postgresql://user:pw@db.internal:5432/hostplane',
      publicUrl: 'https://panel.example.com',
      relayHosts: ['relay1g.spamh.com', 'relay1h.spamh.com'],
      relayPriorityStep: 5,
      logLevel: 'debug',
      bodyLimit: 1048576,
      demo: 'off',
      relayDriver: 'http',
      relayReloadCommand: 'postfix reload',
      relayHttpUrl: 'https://relay-api.internal/changes',
      relayHttpTimeoutMs: 2500,
      worker: false,
      webhookTimeoutMs: 3000,
      webhookAllowPrivate: true,
      rpcDb: 'portal',
      familyRenewalGapSeconds: 0,
      dbTimeouts: loadConfig({}).dbTimeouts,
      crmTokenIdleSeconds: 30 * 86_400,
      credentialCacheMs: 0,
      nodeUnhealthySeconds: 45,
      nodeHeartbeatSeconds: 5,
      nodeUsageSeconds: 2,
      nodeArchiveDays: 7,
      localAgent: { enabled: false, nginxPrefix: undefined, httpPort: 80, webDriver: 'nginx', nginxBin: undefined, phpFpmBin: undefined },
    });
  });

  it('TLS: both files give an https server and default public URL; one alone, a missing file or a mismatched key is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-config-tls-'));
    try {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      const other = path.join(dir, 'other.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', other], { stdio: 'ignore' });
      const config = loadConfig({ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: key, PORT: '8443' });
      expect(config.tls?.cert.toString()).toBe(fs.readFileSync(cert, 'utf8'));
      expect(config.tls?.key.toString()).toBe(fs.readFileSync(key, 'utf8'));
      expect(config.publicUrl).toBe('https://127.0.0.1:8443');
      expect(loadConfig({ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: key, HOSTPLANE_PUBLIC_URL: 'https://panel.example.com' }).publicUrl).toBe('https://panel.example.com');
      expect(loadConfig({}).tls).toBeUndefined();
      expect(problemsOf({ HOSTPLANE_TLS_CERT: cert })).toEqual(['HOSTPLANE_TLS_KEY: is required when HOSTPLANE_TLS_CERT is set (HTTPS needs both the certificate and its private key)']);
      expect(problemsOf({ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: path.join(dir, 'nope.pem') })).toEqual([expect.stringMatching(/^HOSTPLANE_TLS_KEY: cannot read ".*nope\.pem" \(ENOENT\)$/)]);
      expect(problemsOf({ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: other })).toEqual([expect.stringMatching(/^HOSTPLANE_TLS_KEY: the key in .* does not belong to the certificate/)]);
      expect(problemsOf({ HOSTPLANE_TLS_CERT: dir, HOSTPLANE_TLS_KEY: key })).toEqual([expect.stringMatching(/^HOSTPLANE_TLS_CERT: cannot read .*\(EISDIR\)$/)]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the http relay driver needs its URL', () => {
    expect(() => loadConfig({ HOSTPLANE_RELAY_DRIVER: 'http' })).toThrow(ConfigError);
    expect(problemsOf({ HOSTPLANE_RELAY_DRIVER: 'http' })).toEqual(['HOSTPLANE_RELAY_HTTP_URL: is required when HOSTPLANE_RELAY_DRIVER is http']);
    expect(problemsOf({ HOSTPLANE_RELAY_DRIVER: 'carrier-pigeon', HOSTPLANE_WORKER: 'maybe' }).map((p) => p.split(':')[0])).toEqual(['HOSTPLANE_RELAY_DRIVER', 'HOSTPLANE_WORKER']);
  });

  it('the default public URL is reachable even when listening on every interface', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '3000' }).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOST: '::', PORT: '3000' }).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOST: 'panel.local' }).publicUrl).toBe('http://panel.local:8080');
  });

  it('the default public URL of an IPv6 listen address is a valid URL', () => {
    const { publicUrl } = loadConfig({ HOST: '::1', PORT: '3000' });
    expect(publicUrl).toBe('http://[::1]:3000');
    expect(new URL(publicUrl).port).toBe('3000');
  });

  it('the public URL is reduced to its canonical origin', () => {
    expect(loadConfig({ HOSTPLANE_PUBLIC_URL: 'https://Panel.Example.COM:443/' }).publicUrl).toBe('https://panel.example.com');
    expect(loadConfig({ HOSTPLANE_PUBLIC_URL: 'https://panel.example.com:8443' }).publicUrl).toBe('https://panel.example.com:8443');
  });

  it('lists every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://localhost/db',
      HOSTPLANE_PUBLIC_URL: 'ftp://panel.example.com',
      HOSTPLANE_RELAY_HOSTS: 'relay one,relay2.test',
      HOSTPLANE_RELAY_PRIORITY_STEP: '0',
      HOSTPLANE_LOG_LEVEL: 'loud',
      HOSTPLANE_BODY_LIMIT: '10',
      HOSTPLANE_DEMO: 'maybe',
    });
    const variables = problems.map((p) => p.split(':')[0]);
    expect(variables.sort()).toEqual(
      ['DATABASE_URL', 'HOSTPLANE_BODY_LIMIT', 'HOSTPLANE_DEMO', 'HOSTPLANE_LOG_LEVEL', 'HOSTPLANE_PUBLIC_URL', 'HOSTPLANE_RELAY_HOSTS', 'HOSTPLANE_RELAY_PRIORITY_STEP', 'PORT'].sort(),
    );
    expect(problems.find((p) => p.startsWith('DATABASE_URL'))).toMatch(/postgres:\/\//);
    expect(problems.find((p) => p.startsWith('HOSTPLANE_PUBLIC_URL'))).toMatch(/origin/);
  });

  it('the error message names each problem', () => {
    try {
      loadConfig({ PORT: '70000', HOSTPLANE_DEMO: 'yes' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/^invalid configuration:/);
      expect((e as Error).message).toContain('PORT');
      expect((e as Error).message).toContain('HOSTPLANE_DEMO');
    }
  });

  it.each([
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['HOSTPLANE_RELAY_HOSTS', 'relay1.test,,relay2.test'],
    ['HOSTPLANE_RELAY_HOSTS', 'relay_1.test'],
    ['HOSTPLANE_RELAY_PRIORITY_STEP', '1001'],
    ['HOSTPLANE_BODY_LIMIT', String(51 * 1024 * 1024)],
    ['DATABASE_URL', 'not a url'],
    ['HOSTPLANE_PUBLIC_URL', 'panel.example.com'],
    ['HOSTPLANE_PUBLIC_URL', 'https://panel.example.com/hostplane'],
    ['HOSTPLANE_PUBLIC_URL', 'https://panel.example.com/?x=1'],
    ['HOSTPLANE_PUBLIC_URL', 'https://panel.example.com/#top'],
    ['HOSTPLANE_PUBLIC_URL', 'https://user:secret@panel.example.com'],
  ])('%s=%j is refused', (name, value) => {
    expect(problemsOf({ [name]: value }).map((p) => p.split(':')[0])).toEqual([name]);
  });

  it('accepts an http origin with a port and strips the trailing slash', () => {
    expect(loadConfig({ HOSTPLANE_PUBLIC_URL: 'http://localhost:8080/' }).publicUrl).toBe('http://localhost:8080');
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production' })).toEqual(loadConfig({}));
  });
});

describe('demo catalog on start', () => {
  it('goes into an unused embedded database only, unless asked for or turned off', async () => {
    const { shouldSeedDemo } = await import('../src/serve.js');
    const pg = 'postgres://postgres@127.0.0.1:5432/x';
    expect(shouldSeedDemo({ demo: 'auto', databaseUrl: undefined }, true)).toBe(true);
    expect(shouldSeedDemo({ demo: 'auto', databaseUrl: undefined }, false)).toBe(false);
    expect(shouldSeedDemo({ demo: 'auto', databaseUrl: pg }, true)).toBe(false);
    expect(shouldSeedDemo({ demo: 'on', databaseUrl: pg }, false)).toBe(true);
    expect(shouldSeedDemo({ demo: 'off', databaseUrl: undefined }, true)).toBe(false);
  });
});
