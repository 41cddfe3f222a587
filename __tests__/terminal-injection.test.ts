/**
 * A hostile server's REJECT reason must not drive the user's terminal or forge a log line:
 * the real client program, spawned, against a scripted server that sends escape sequences,
 * a bell, carriage returns, C1 controls and bidi overrides, and a fake SUCCESS verdict.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { runProgram } from './helpers/program';
import { ScriptedServer } from './helpers/scripted-server';

const FORGED = 'SUCCESS: 10 numbers, checksum 0x00000000 matches';
/** Clear screen, set the window title, return and erase the line, then the forged verdict. */
const HOSTILE = `\x1b[2J\x1b]0;pwned\x07\r\x1b[2K${FORGED}\n\x9b31m\u202etxt.exe\u2066`;
/** Whatever could act on a terminal or hide text: C0 but LF (our own line ends), DEL, C1, bidi. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

let fake: ScriptedServer | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

/** First connection: a resumable REJECT (the loss line); second: a final one (the verdict). */
async function hostileServer(): Promise<number> {
  fake = new ScriptedServer((c) => {
    const code = c.n === 1 ? RejectCode.SHUTTING_DOWN : RejectCode.BAD_REQUEST;
    c.send({ type: MessageType.REJECT, code, reason: HOSTILE });
    c.socket.end();
  });
  return fake.listen();
}

const logDir = mkdtempSync(path.join(os.tmpdir(), 'seqstream-inject-'));

it.each([[[]], [['--json']]])('the client program %j prints none of the reason\'s control characters, and fails', async (extra) => {
  const port = await hostileServer();
  const logFile = path.join(logDir, `client${extra.length}.log`);
  const run = await runProgram('client', [String(port), '10', '--max-reconnects', '3', '--max-backoff', '50ms', '--log-file', logFile, ...extra]);
  expect(run.code).toBe(1);
  expect(fake!.conns).toHaveLength(2);
  for (const [where, text] of [['stdout', run.out], ['stderr', run.err], ['log', readFileSync(logFile, 'utf8')]]) {
    expect({ where, control: RAW_CONTROL.exec(text)?.[0] }).toEqual({ where, control: undefined });
    // The forged verdict never starts a line of its own.
    expect(text).not.toMatch(new RegExp(`^${FORGED}`, 'm'));
  }
  // The reason is still there, readable, with its controls spelled out.
  const shown = String.raw`\x1b[2J\x1b]0;pwned\x07\x0d\x1b[2KSUCCESS: 10 numbers, checksum 0x00000000 matches\x0a\x9b31m\u202etxt.exe\u2066`;
  expect(run.err).toContain(`connection lost at index 0: SHUTTING_DOWN: ${shown}`);
  if (extra.length) {
    const result = JSON.parse(run.out) as { ok: boolean; failure: string };
    expect(result).toMatchObject({ ok: false, failure: `rejected by the server (BAD_REQUEST): ${shown}` });
  } else {
    expect(run.out).toBe(`FAILURE: rejected by the server (BAD_REQUEST): ${shown}\n`);
  }
});
