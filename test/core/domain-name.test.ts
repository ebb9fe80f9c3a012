import { describe, expect, it } from 'vitest';
import { normalizeDomainName, normalizeMailServer } from '../../src/core/shared/domain-name.js';

describe('normalizeDomainName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['  mail.example.com  ', 'mail.example.com'],
    ['customer-domain.test', 'customer-domain.test'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['a.b.c.d.example.org', 'a.b.c.d.example.org'],
    ['123.example', '123.example'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
  ])('%s → %s', (input, expected) => {
    expect(normalizeDomainName(input)).toBe(expected);
  });

  it.each([
    [''],
    ['   '],
    ['.'],
    ['localhost'],
    ['com'],
    ['bad..name'],
    ['.example.com'],
    ['example.com..'],
    ['-start.example'],
    ['end-.example'],
    ['under_score.example'],
    ['has space.example'],
    ['user@example.com'],
    ['example.com/path'],
    ['example.com:25'],
    ['*.example.com'],
    ['example.com?x'],
    ['back\\slash.example'],
    ['1.2.3.4'],
    ['10.0.0.1'],
    [`${'a'.repeat(64)}.example`],
    [`${'abcdefghi.'.repeat(26)}com`],
  ])('rejects %j', (input) => {
    expect(normalizeDomainName(input)).toBeNull();
  });

  it('is idempotent on what it returns', () => {
    for (const input of ['Example.COM.', 'bücher.example', ' a-b.c-d.test ']) {
      const once = normalizeDomainName(input)!;
      expect(normalizeDomainName(once)).toBe(once);
    }
  });
});

describe('normalizeMailServer', () => {
  it.each([
    ['mail.customer-domain.test', 'mail.customer-domain.test'],
    ['MAIL.Example.com.', 'mail.example.com'],
    ['192.0.2.10', '192.0.2.10'],
    ['[192.0.2.10]', '192.0.2.10'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    [' 198.51.100.7 ', '198.51.100.7'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeMailServer(input)).toBe(expected);
  });

  it.each([[''], ['not a host'], ['mail'], ['999.1.1.1.1'], ['[mail.example.com]'], ['mail.example.com:25'], ['http://mail.example.com']])('rejects %j', (input) => {
    expect(normalizeMailServer(input)).toBeNull();
  });
});
