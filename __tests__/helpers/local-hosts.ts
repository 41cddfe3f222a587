/**
 * The Host and Origin values the local HTTP servers (proxy control API, inspector page) must
 * accept or refuse when they listen on 127.0.0.1, each with the reason it was decided so. One
 * table, used by the function-level test and by both servers' tests over real HTTP.
 *
 * The rule behind it: DNS rebinding needs a name the attacker can make resolve to 127.0.0.1, so
 * a request may name only what no one else can point here: the exact loopback literals
 * (127.x.y.z as a real dotted quad, [::1]), localhost, and the address the server was told to
 * bind. Everything else is refused, near-misses included: nothing is "repaired".
 */
export interface HostCase {
  value: string;
  ok: boolean;
  why: string;
}

export const HOST_CASES: HostCase[] = [
  { value: '127.0.0.1', ok: true, why: 'the loopback address itself' },
  { value: '127.0.0.1:49157', ok: true, why: 'with a port, as browsers and curl send it' },
  { value: 'localhost', ok: true, why: 'resolved from /etc/hosts, not the attacker\'s to point' },
  { value: 'localhost:8080', ok: true, why: 'with a port' },
  { value: '[::1]', ok: true, why: 'IPv6 loopback, bracketed as Host requires' },
  { value: '[::1]:49157', ok: true, why: 'with a port' },
  { value: 'LOCALHOST:49157', ok: true, why: 'host names are case-insensitive; curl sends what was typed, browsers lowercase' },
  { value: '127.0.0.2', ok: true, why: 'all of 127/8 is loopback, and a literal involves no DNS, so it cannot be rebound' },
  { value: '127.255.255.254:1', ok: true, why: 'still a real dotted quad in 127/8' },

  { value: '127.0.0.1.attacker.example', ok: false, why: 'THE bypass: a DNS name the attacker owns that merely starts with 127.' },
  { value: '127.0.0.1.attacker.example:49157', ok: false, why: 'the bypass with a port' },
  { value: 'localhost.attacker.example', ok: false, why: 'a name under the attacker\'s domain' },
  { value: 'evil.example:49157', ok: false, why: 'plain DNS rebinding' },
  { value: '127.0.0.1:80@evil', ok: false, why: 'a port must be digits only' },
  { value: '[::1].evil', ok: false, why: 'anything after the bracket but a :port' },
  { value: '[::1', ok: false, why: 'unclosed bracket' },
  { value: '::1', ok: false, why: 'an IPv6 literal in Host must be bracketed' },
  { value: '[0:0:0:0:0:0:0:1]', ok: false, why: 'not the canonical form; browsers send [::1]' },
  { value: '[::ffff:127.0.0.1]', ok: false, why: 'IPv4-mapped: not on the list, browsers never send it' },
  { value: '127.1', ok: false, why: 'shorthand that only inet_aton understands, not a dotted quad; browsers send 127.0.0.1' },
  { value: '0x7f.0.0.1', ok: false, why: 'hexadecimal form: same' },
  { value: '127.000.0.1', ok: false, why: 'leading zeros read as octal by some resolvers' },
  { value: '2130706433', ok: false, why: '127.0.0.1 as one decimal number: same' },
  { value: 'localhost.', ok: false, why: 'the absolute name goes to DNS on some resolvers rather than /etc/hosts; nobody types it' },
  { value: 'localhost:', ok: false, why: 'an empty port: no client sends it' },
  { value: 'localhost:80a', ok: false, why: 'a port with letters' },
  { value: 'localhost:0x50', ok: false, why: 'a port with letters' },
  { value: 'localhost:123456', ok: false, why: 'more digits than any port' },
  { value: 'localhost:80:81', ok: false, why: 'two ports' },
  { value: 'localhost,evil.example', ok: false, why: 'two hosts in one header' },
  { value: '10.0.0.1', ok: false, why: 'another address than the one bound' },
  { value: '', ok: false, why: 'no name at all: every browser sends one, so an empty Host is not from a page we serve' },
];

/** Origin header values, the request's Host being 127.0.0.1:<port>. */
export const ORIGIN_CASES: HostCase[] = [
  { value: 'http://127.0.0.1:49157', ok: true, why: 'our own page' },
  { value: 'http://localhost:3000', ok: true, why: 'a page of this machine' },
  { value: 'http://[::1]:49157', ok: true, why: 'IPv6 loopback' },
  { value: 'https://localhost', ok: true, why: 'the scheme does not matter' },
  { value: 'http://127.0.0.2', ok: true, why: '127/8 literal' },
  {
    value: 'null',
    ok: true,
    why: 'an opaque origin (file:, sandboxed frame) sends cross-origin requests: it cannot read answers, and JSON or DELETE needs a preflight this server never grants',
  },
  { value: 'http://127.0.0.1.attacker.example', ok: false, why: 'the bypass, in the Origin' },
  { value: 'http://localhost.attacker.example:49157', ok: false, why: 'a name under the attacker\'s domain' },
  { value: 'http://evil.example', ok: false, why: 'a foreign page' },
  { value: 'http://localhost.', ok: false, why: 'trailing dot: not on the list' },
  { value: 'http://[::1].evil', ok: false, why: 'not a URL' },
  { value: 'not a url', ok: false, why: 'not a URL' },
  { value: 'file:///etc/passwd', ok: false, why: 'a URL without a host (browsers send "null" for these)' },
];
