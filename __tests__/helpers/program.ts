/** Runs a built program (dist/bin) as a user would, to its exit, with a bound. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const dist = path.join(__dirname, '..', '..', 'dist', 'bin');

export interface ProgramRun {
  out: string;
  err: string;
  code: number | null;
}

export function runProgram(program: string, args: string[], timeoutMs = 15_000): Promise<ProgramRun> {
  const file = path.join(dist, `${program}.js`);
  if (!existsSync(file)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ProgramRun = { out: '', err: '', code: null };
    child.stdout.on('data', (b: Buffer) => (run.out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (run.err += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} did not exit within ${timeoutMs} ms; output so far:\n${run.out}${run.err}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      run.code = code;
      resolve(run);
    });
  });
}
