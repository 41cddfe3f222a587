/** The conformance command line: its arguments, its exit statuses, and a table a peer cannot forge. */
import { parseArgv, main } from '../conformance/run';
import { Table, summaryLine, summarize } from '../conformance/report';

it('server mode: HOST:PORT (IPv6 in brackets) and its options', () => {
  expect(parseArgv(['server', '127.0.0.1:49155'])).toMatchObject({ mode: 'server', host: '127.0.0.1', port: 49155, timeoutMs: 10000, json: 'conformance-report.json', only: null });
  expect(parseArgv(['server', '[::1]:5', '--only', 'S3.5', '--timeout', '3000', '--reconnect-window', '2000', '--json', 'r.json'])).toMatchObject({
    host: '::1', port: 5, only: 'S3.5', timeoutMs: 3000, reconnectWindowMs: 2000, json: 'r.json',
  });
});

it("client mode: everything after '--' is the command, which must name {PORT}", () => {
  expect(parseArgv(['client', '--timeout', '500', '--', 'node', 'c.js', '{PORT}', '--json'])).toMatchObject({ mode: 'client', command: ['node', 'c.js', '{PORT}', '--json'], timeoutMs: 500 });
  expect(() => parseArgv(['client', '--', 'node', 'c.js'])).toThrow(/must contain \{PORT\}/);
  expect(() => parseArgv(['client'])).toThrow(/command line after '--'/);
});

it.each([
  [['server'], /needs HOST:PORT/],
  [['server', 'localhost'], /expected HOST:PORT/],
  [['server', 'h:70000'], /expected HOST:PORT/],
  [['server', 'h:1', '--timeout', '0'], /above 0/],
  [['server', 'h:1', '--bogus'], /unknown option/],
  [['client', '--reconnect-window', '5', '--', 'x', '{PORT}'], /for server mode/],
  [['fly'], /unknown mode/],
  [[], /say which mode/],
])('%j is refused', (argv, why) => {
  expect(() => parseArgv(argv)).toThrow(why);
});

it('exit statuses: --help 0, bad arguments 2, an unreachable server 1', async () => {
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['--help'])).toBe(0);
    expect(await main(['server'])).toBe(2);
    expect(await main(['server', '127.0.0.1:1', '--only', 'S9'])).toBe(2);
    expect(await main(['server', '127.0.0.1:1', '--timeout', '500'])).toBe(1);
    expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/no server to test/);
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
});

it('the table spells out control characters a peer put in a detail, and counts skips apart', () => {
  const rows = [
    { id: 'S1.1', title: 't', rule: '§1', pass: false, detail: 'got "\x1b[2J\rpass"', ms: 3 },
    { id: 'S3.6.2', title: 't', rule: '§3.6', pass: true, skipped: true, detail: 'needs the window', ms: 0 },
    { id: 'S1.2', title: 't', rule: '§1', pass: true, detail: '', ms: 1 },
  ];
  const table = new Table(6, 4);
  expect(table.row(rows[0])).toBe('S1.1    §1    FAIL          3  t\n        -> got "\\x1b[2J\\x0dpass"');
  expect(table.row(rows[1])).toContain('skip');
  expect(summaryLine(summarize(rows))).toBe('1 passed, 1 failed, 1 skipped');
});
