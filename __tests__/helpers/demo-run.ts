/**
 * Runs the built demo (`dist/bin/demo.js`, with or without `--cluster`) to its end — it bounds
 * its own waits — in a scratch folder for its logs, removed after the file's tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const demoScript = path.join(__dirname, '..', '..', 'dist', 'bin', 'demo.js');

export interface DemoRun {
  code: number | null;
  out: string;
}

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

export function runDemo(args: string[]): Promise<DemoRun> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'seqstream-demo-'));
  scratch.push(cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demoScript, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}
