/**
 * The log file is rotated by size, so a flood cannot fill the disk, and a burst of lines is
 * written, not held in memory. The logger runs in a child process as the programs run it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const logger = path.join(__dirname, '..', 'dist', 'core', 'logger.js');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'seqstream-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `lines` warnings of ~180 bytes each through createLogger, in rounds, and waits for the file. */
function writeLog(options: string, lines: number): void {
  const script = `
    const fs = require('node:fs');
    const { createLogger } = require(${JSON.stringify(logger)});
    const log = createLogger({ level: 'info', file: ${JSON.stringify(path.join(dir, 'app.log'))}, program: 'test', console: false, ${options} });
    (async () => {
      for (let i = 0; i < ${lines}; i++) {
        log.warn(i + ' ' + 'x'.repeat(100));
        // Bursts of 500 lines per turn of the event loop, as a log flood brings them.
        if (i % 500 === 499) await new Promise((r) => setTimeout(r, 1));
      }
      log.end();
      // Lines reach the disk after the logger says 'finish' (winston#1504): wait, with a bound,
      // until the last one is in one of the files.
      const dir = ${JSON.stringify(dir)};
      const last = '"message":"' + (${lines} - 1) + ' ';
      for (let t = 0; t < 250; t++) {
        if (fs.readdirSync(dir).some((f) => fs.readFileSync(dir + '/' + f, 'utf8').includes(last))) process.exit(0);
        await new Promise((r) => setTimeout(r, 20));
      }
      process.exit(3);
    })();`;
  execFileSync(process.execPath, ['-e', script], { timeout: 20_000 });
}

const sizes = () => readdirSync(dir).sort().map((f) => ({ f, size: statSync(path.join(dir, f)).size }));

it('rotates by size, keeps at most maxFiles files, and loses no recent line to a burst', () => {
  writeLog('maxSize: 20000, maxFiles: 3', 2000);
  const files = sizes().filter((x) => x.f.endsWith('.log'));
  // app.log is the current file; rotated ones carry a time stamp; never more than maxFiles.
  expect(files.map((x) => x.f)).toContain('app.log');
  expect(files.length).toBe(3);
  for (const x of files) expect(x.size).toBeLessThanOrEqual(20_000 + 200);
  // What is kept is the newest lines, every one of them, in order.
  const kept = files
    .flatMap((x) => readFileSync(path.join(dir, x.f), 'utf8').trim().split('\n'))
    .map((l) => Number(/"message":"(\d+) /.exec(l)![1]))
    .sort((a, b) => a - b);
  expect(kept[kept.length - 1]).toBe(1999);
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 2000 - kept.length + i));
  expect(kept.length).toBeGreaterThan(200);
});

it('maxSize 0 turns rotation off (one growing file, as before)', () => {
  writeLog('maxSize: 0', 2000);
  const files = sizes();
  expect(files.map((x) => x.f)).toEqual(['app.log']);
  expect(files[0].size).toBeGreaterThan(300_000);
});
