/**
 * The guard of the local HTTP servers against DNS rebinding and foreign pages, as a function:
 * which Host and Origin values pass for which bind address. The same tables run over real HTTP
 * against both servers in proxy-control.test.ts and inspector.http.test.ts.
 */
import type http from 'node:http';
import { checkLocalRequest } from '../core/local-http';
import { HOST_CASES, ORIGIN_CASES } from './helpers/local-hosts';

function request(headers: Record<string, string>): http.IncomingMessage {
  return { headers } as unknown as http.IncomingMessage;
}

function passes(boundHost: string, headers: Record<string, string>): boolean {
  return checkLocalRequest(request(headers), boundHost) === null;
}

describe('bound to 127.0.0.1 (the default)', () => {
  test.each(HOST_CASES)('Host $value → ok: $ok ($why)', ({ value, ok }) => {
    expect(passes('127.0.0.1', { host: value })).toBe(ok);
  });

  test.each(ORIGIN_CASES)('Origin $value → ok: $ok ($why)', ({ value, ok }) => {
    expect(passes('127.0.0.1', { host: '127.0.0.1:49157', origin: value })).toBe(ok);
  });

  test('no Host header at all (an HTTP/1.0 request) is refused like an empty one', () => {
    expect(passes('127.0.0.1', {})).toBe(false);
  });

  test('the refusal says what to use instead', () => {
    expect(checkLocalRequest(request({ host: '127.0.0.1.attacker.example' }), '127.0.0.1')).toMatch(/not this machine; use http:\/\/127\.0\.0\.1:<port>\//);
  });
});

describe('the exact configured bind address is accepted, and only it besides loopback', () => {
  const cases: [bound: string, host: string, ok: boolean][] = [
    // A LAN address: the guard used to switch itself off for any non-loopback bind.
    ['192.0.2.10', '192.0.2.10:49157', true],
    ['192.0.2.10', '192.0.2.10', true],
    ['192.0.2.10', '127.0.0.1:49157', true],
    ['192.0.2.10', 'evil.example:49157', false],
    ['192.0.2.10', '192.0.2.10.attacker.example', false],
    ['192.0.2.10', '192.0.2.11', false],
    // A name the user chose to bind: that exact name, any case.
    ['proxy.lan', 'proxy.lan:49157', true],
    ['proxy.lan', 'PROXY.LAN', true],
    ['proxy.lan', 'proxy.lan.attacker.example', false],
    // IPv6: bound without brackets, named with them.
    ['::1', '[::1]:49157', true],
    ['fd00::5', '[fd00::5]:49157', true],
    ['fd00::5', 'fd00::5', false],
    // Every interface: no single name to expect, so any IP literal (a literal cannot be
    // rebound: only this server answers on it) and still no DNS name.
    ['0.0.0.0', '192.0.2.10:49157', true],
    ['0.0.0.0', '[fd00::5]:49157', true],
    ['0.0.0.0', '127.0.0.1', true],
    ['0.0.0.0', 'evil.example:49157', false],
    ['0.0.0.0', '127.0.0.1.attacker.example', false],
    ['::', '192.0.2.10', true],
    ['::', 'evil.example', false],
  ];
  test.each(cases)('bound %s, Host %s → ok: %s', (bound, host, ok) => {
    expect(passes(bound, { host })).toBe(ok);
  });

  test('the Origin follows the same rule', () => {
    expect(passes('192.0.2.10', { host: '192.0.2.10', origin: 'http://192.0.2.10:49157' })).toBe(true);
    expect(passes('192.0.2.10', { host: '192.0.2.10', origin: 'http://evil.example' })).toBe(false);
    expect(passes('0.0.0.0', { host: '192.0.2.10', origin: 'http://192.0.2.10' })).toBe(true);
    expect(passes('0.0.0.0', { host: '192.0.2.10', origin: 'http://192.0.2.10.attacker.example' })).toBe(false);
  });
});
