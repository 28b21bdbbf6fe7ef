import { describe, expect, it } from 'vitest';
import { isLoopbackHost, rawHttpHost } from '../src/index.js';
import { assertLoopbackUrl } from '../../bench/src/cli-support.js';
import { assertLoopbackBaseUrl } from '../../../loadtests/src/k6/plan.js';

const LOOPBACK = ['localhost', 'LocalHost', '::1', '[::1]', '127.0.0.1', '127.0.0.0', '127.255.255.255', '127.1.2.3', '127.10.200.99'];
const NOT_LOOPBACK = [
  '127.0.0.256',
  '127.0.0.01',
  '127.00.0.1',
  '127.1',
  '127.0.1',
  '0x7f.0.0.1',
  '0177.0.0.1',
  '2130706433',
  '127.0.0.1.',
  '127.0.0.1.nip.io',
  'localhost.',
  'localhost.example.com',
  '::ffff:127.0.0.1',
  '0:0:0:0:0:0:0:1',
  '128.0.0.1',
  '10.0.0.1',
  '0.0.0.0',
  '',
  ' 127.0.0.1',
];

describe('isLoopbackHost', () => {
  it.each(LOOPBACK)('accepts %j', (host) => expect(isLoopbackHost(host)).toBe(true));
  it.each(NOT_LOOPBACK)('refuses %j', (host) => expect(isLoopbackHost(host)).toBe(false));
});

describe('rawHttpHost', () => {
  it('returns the host as written, before any URL normalization', () => {
    expect(rawHttpHost('http://127.1:3000/x')).toBe('127.1');
    expect(rawHttpHost('http://0x7f.0.0.1/')).toBe('0x7f.0.0.1');
    expect(rawHttpHost('http://[::1]:8080')).toBe('::1');
    expect(rawHttpHost('HTTP://LocalHost?q')).toBe('LocalHost');
  });

  it('has no host for credentials, backslashes or other schemes', () => {
    for (const url of ['http://u@127.0.0.1/', 'http://127.0.0.1@evil.example/', 'http://127.0.0.1\\@evil.example/', 'https://127.0.0.1/', '127.0.0.1:3000']) {
      expect(rawHttpHost(url), url).toBeUndefined();
    }
  });
});

// The same rule in both places that refuse load targets: the CLI (verify, bench) and the k6 script.
const ACCEPTED_URLS = ['http://127.0.0.1:3000', 'http://localhost:3000/', 'http://[::1]:3000', 'http://127.1.2.3:80'];
const REFUSED_URLS = [
  'http://127.0.0.256:3000',
  'http://127.0.0.01:3000',
  'http://127.1:3000',
  'http://0x7f.0.0.1:3000',
  'http://2130706433:3000',
  'http://10.0.0.1:3000',
  'http://0.0.0.0:3000',
  'http://shop.example.com',
  'http://127.0.0.1@shop.example.com',
  'http://[::ffff:127.0.0.1]:3000',
];

describe('assertLoopbackUrl (stackbench verify / bench)', () => {
  it.each(ACCEPTED_URLS)('accepts %s', (url) => expect(assertLoopbackUrl(url).href).toBe(new URL(url).href));
  it.each(REFUSED_URLS)('refuses %s with one line', (url) => {
    expect(() => assertLoopbackUrl(url)).toThrow(/^(refusing \S+: stackbench only targets loopback addresses .*|not a URL: .*)$/);
  });
});

describe('assertLoopbackBaseUrl (k6 script)', () => {
  it.each(ACCEPTED_URLS)('accepts %s', (url) => expect(assertLoopbackBaseUrl(url)).toBe(url.replace(/\/$/, '')));
  it.each(REFUSED_URLS)('refuses %s', (url) => {
    expect(() => assertLoopbackBaseUrl(url)).toThrow(/^(refusing \S+: stackbench only targets loopback|BASE_URL must look like)/);
  });
});
