/**
 * The server program's own failures at start are a clear line and a non-zero exit, not a stack
 * trace: a port already in use (this crashed with an unhandled 'error' event), a store that is
 * not there.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../core/ports';

const serverJs = path.join(__dirname, '..', 'dist', 'bin', 'server.js');

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [serverJs, ...args, '--log-file', ''], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr });
    });
  });
}

it('a port already in use: one clear line and exit status 1', async () => {
  const holder = net.createServer();
  const port = await new Promise<number>((r) => holder.listen(0, '127.0.0.1', () => r((holder.address() as net.AddressInfo).port)));
  try {
    const { code, out } = await run([String(port)]);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`));
    expect(out).not.toMatch(/Unhandled 'error' event|\n\s+at /);
  } finally {
    holder.close();
  }
});

it('a Redis store that does not answer: one clear line naming it, and exit status 1', async () => {
  const dead = await freePort();
  const { code, out } = await run([String(await freePort()), '--store', `redis://:secret@127.0.0.1:${dead}`]);
  expect(code).toBe(1);
  expect(out).toMatch(new RegExp(`cannot open the session store: .*redis://127\\.0\\.0\\.1:${dead}`));
  expect(out).not.toMatch(/secret/);
});
