/**
 * The built programs as a user runs them: server, proxy and client as separate processes.
 * `npm test` builds dist/ first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../core/ports';

const dist = path.join(__dirname, '..', 'dist', 'bin');
const logDir = mkdtempSync(path.join(os.tmpdir(), 'seqstream-e2e-'));

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
}

const procs: Proc[] = [];

function start(program: string, args: string[]): Proc {
  const child = spawn(process.execPath, [path.join(dist, `${program}.js`), ...args, ...(args.includes('--help') ? [] : ['--log-file', path.join(logDir, `${program}.log`)])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { child, out: '', err: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout!.on('data', (b: Buffer) => (p.out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (p.err += b.toString()));
  procs.push(p);
  return p;
}

async function until(p: Proc, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.out + p.err)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${p.out}${p.err}`);
    if (p.child.exitCode !== null) throw new Error(`process exited (${p.child.exitCode}) before ${what}:\n${p.out}${p.err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

beforeAll(() => {
  if (!existsSync(path.join(dist, 'server.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

describe('the programs', () => {
  it.each(['server', 'client', 'proxy', 'demo'])('%s --help documents usage and exits 0', async (program) => {
    const p = start(program, ['--help']);
    expect(await p.exit).toBe(0);
    expect(p.out).toMatch(/Usage:/);
    expect(p.out).toMatch(/--help/);
  });

  it.each([
    ['server', ['70000']],
    ['server', ['--interval', '-5']],
    ['server', ['--heartbeat-timeout', '1s', '--reconnect-window', '500ms']],
    ['client', []],
    ['client', ['49155', 'lots']],
    ['proxy', ['--bogus']],
    ['proxy', ['--chaos', 'cut,explode']],
    ['proxy', ['--control-port', '70000']],
    ['server', ['--inspect=sideways']],
  ])('%s %j is refused with a clear message and exit 2', async (program, args) => {
    const p = start(program, args as string[]);
    expect(await p.exit).toBe(2);
    expect(p.err).toMatch(new RegExp(`${program}: .+`));
    expect(p.err).toMatch(/--help/);
  });

  it('a client through the proxy survives a cut and a proxy restart, and prints its success verdict', async () => {
    const serverPort = await freePort();
    const proxyPort = await freePort();
    const server = start('server', [String(serverPort), '--interval', '20ms', '--heartbeat-interval', '100ms', '--heartbeat-timeout', '500ms']);
    await until(server, /listening on/, 'the server to listen');
    let proxy = start('proxy', [String(proxyPort), String(serverPort), '--control-port', '0']);
    await until(proxy, new RegExp(String(proxyPort)), 'the proxy to listen');
    const client = start('client', [String(proxyPort), '150', '--max-backoff', '200ms']);
    await until(client, /session [0-9a-f]{8}: 150 numbers/, 'the session to start');

    // Cut every connection from outside, as a user would with a signal.
    proxy.child.kill('SIGUSR1');
    await until(client, /resumed session [0-9a-f]{8} at index \d+/, 'the first resume');

    // Kill the proxy like the seed's users did, then bring it back inside the window.
    proxy.child.kill('SIGTERM');
    expect(await proxy.exit).toBe(0);
    await until(client, /connection lost at index \d+.*\n(.|\n)*connection lost at index/, 'the second loss');
    proxy = start('proxy', [String(proxyPort), String(serverPort), '--control-port', '0']);

    expect(await client.exit).toBe(0);
    const verdicts = client.out.split('\n').filter((l) => /^(SUCCESS|FAILURE)/.test(l));
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatch(/^SUCCESS: 150 numbers, checksum 0x[0-9a-f]{8} matches the server's, [2-9]\d* reconnect\(s\)/);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 30_000);

  it('server --inspect=0 serves the inspector page on a free port and prints it', async () => {
    const port = await freePort();
    const server = start('server', [String(port), '--interval', '20ms', '--inspect=0']);
    await until(server, /inspector on http:\/\/127\.0\.0\.1:\d+\//, 'the inspector address');
    const address = /inspector on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.out + server.err)![1];
    const client = start('client', [String(port), '20']);
    expect(await client.exit).toBe(0);
    const page = await fetch(address);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>seqstream inspector<\/title>/);
    const summary = (await (await fetch(address + 'summary')).json()) as { counts: Record<string, number> };
    expect(summary.counts.complete).toBe(1);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 20_000);

  it('client --trace prints every state change of its machine, one line each', async () => {
    const port = await freePort();
    const server = start('server', [String(port), '--interval', '10ms']);
    await until(server, /listening on/, 'the server to listen');
    const client = start('client', [String(port), '5', '--trace']);
    expect(await client.exit).toBe(0);
    const states = (client.out + client.err).split('\n').filter((l) => /state: /.test(l)).map((l) => l.replace(/^.*state: /, ''));
    expect(states).toEqual(['online.connecting', 'online.handshaking', 'online.receiving', 'done']);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 20_000);

  it('server --inspect=stately loads the ESM-only @statelyai/inspect and bridges events to its WebSocket receiver', async () => {
    const port = await freePort();
    const server = start('server', [String(port), '--interval', '20ms', '--inspect=stately']);
    await until(server, /Stately inspector bridge: open http:\/\/localhost:(\d+)\//, 'the bridge address');
    const bridgePort = /Stately inspector bridge: open http:\/\/localhost:(\d+)\//.exec(server.out + server.err)![1];
    // Stand in for the browser side of the bridge (whose UI would come from stately.ai).
    const ws = new WebSocket(`ws://127.0.0.1:${bridgePort}`);
    const seen: { type: string; snapshot?: { context?: { id?: string } } }[] = [];
    ws.on('message', (m) => seen.push(JSON.parse(m.toString())));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const client = start('client', [String(port), '10']);
    expect(await client.exit).toBe(0);
    const deadline = Date.now() + 5000;
    while (!seen.some((e) => e.type === '@xstate.snapshot') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));
    // The resume credential never leaves the server: contexts carry 8 hex digits of the id.
    const ids = seen.map((e) => e.snapshot?.context?.id).filter((x): x is string => typeof x === 'string');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => /^[0-9a-f]{8}$/.test(id))).toBe(true);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 20_000);

  it('the proxy program: control API, chaos with a printed seed, signals', async () => {
    const serverPort = await freePort();
    const proxyPort = await freePort();
    const controlPort = await freePort();
    const server = start('server', [String(serverPort), '--interval', '20ms', '--heartbeat-interval', '100ms', '--heartbeat-timeout', '500ms']);
    await until(server, /listening on/, 'the server to listen');
    const proxy = start('proxy', [String(proxyPort), String(serverPort), '--control-port', String(controlPort), '--chaos', 'latency,slicer', '--seed', '1234', '--chaos-interval', '200ms', '--chaos-max-duration', '100ms']);
    await until(proxy, /control API on http:\/\/127\.0\.0\.1:\d+/, 'the control API');
    await until(proxy, /seed 1234 \(replay with --seed 1234\)/, 'the chaos seed');
    const client = start('client', [String(proxyPort), '60', '--max-backoff', '200ms']);
    await until(client, /session [0-9a-f]{8}: 60 numbers/, 'the session to start');

    const api = (method: string, route: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${controlPort}${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as any })); // eslint-disable-line @typescript-eslint/no-explicit-any
    const conns = await api('GET', '/connections');
    expect(conns.status).toBe(200);
    expect(conns.json).toHaveLength(1);
    const bad = await api('POST', '/faults', { kind: 'freeze', durationMs: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/durationMs/);
    // A freeze through the API, lifted by SIGHUP: the client must notice the silence and resume.
    const freeze = await api('POST', '/faults', { kind: 'freeze' });
    expect(freeze.status).toBe(201);
    await until(client, /connection lost at index \d+/, 'the client to notice the freeze');
    proxy.child.kill('SIGHUP');
    await until(proxy, /lifted \d+ fault\(s\)/, 'SIGHUP to lift the faults');
    expect(await client.exit).toBe(0);
    expect(client.out).toMatch(/^SUCCESS: 60 numbers/m);
    const stats = await api('GET', '/stats');
    expect(stats.json.injected.freeze).toBe(1);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exit).toBe(0);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
  }, 30_000);
});
