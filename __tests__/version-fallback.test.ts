/**
 * The client offers protocol version 2; a server that speaks only version 1 refuses it with
 * UNSUPPORTED_VERSION, and the client carries on in version 1 for the whole session, its
 * RESUMEs included, saying so once.
 */
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { startClient } from './helpers/net';
import { LENGTH, ScriptedServer } from './helpers/scripted-server';

let fake: ScriptedServer | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

it('a version-1-only server: refused HELLO v2, then HELLO v1, a cut, RESUME v1; the client succeeds', async () => {
  fake = new ScriptedServer((c) => {
    const first = c.first;
    if (first.type === MessageType.HELLO && first.version !== 1) {
      c.send({ type: MessageType.REJECT, code: RejectCode.UNSUPPORTED_VERSION, reason: `1: protocol version ${first.version} is not supported` });
      c.socket.end();
    } else if (first.type === MessageType.HELLO) {
      c.welcome(0);
      c.numbers(0, 3);
      c.socket.destroy();
    } else if (first.type === MessageType.RESUME && first.version === 1) {
      c.welcome(first.nextIndex);
      c.numbers(first.nextIndex, LENGTH);
      c.end();
    } else {
      c.send({ type: MessageType.REJECT, code: RejectCode.UNSUPPORTED_VERSION, reason: 'this server speaks 1' });
      c.socket.end();
    }
  });
  const port = await fake.listen();
  const fallbacks: string[] = [];
  const client = startClient(port, LENGTH, {
    maxReconnects: 5,
    onFallback: (version, fallback, reason) => fallbacks.push(`${version} -> ${fallback}: ${reason}`),
  });
  const result = await client.result;
  expect(fake.conns.map((c) => c.first)).toEqual([
    { type: MessageType.HELLO, version: 2, length: LENGTH },
    { type: MessageType.HELLO, version: 1, length: LENGTH },
    { type: MessageType.RESUME, version: 1, sessionId: expect.any(Buffer), nextIndex: 3 },
  ]);
  expect(fallbacks).toEqual(['2 -> 1: 1: protocol version 2 is not supported']);
  expect(result).toMatchObject({ ok: true, reconnects: 1, received: LENGTH, violations: [] });
});

it('a server that answers a version-2 HELLO with a version-1 WELCOME breaks the rules: a clear failure', async () => {
  fake = new ScriptedServer((c) => c.welcome(0, { instanceId: undefined }));
  const port = await fake.listen();
  const result = await startClient(port, LENGTH, { maxReconnects: 2 }).result;
  expect(result).toMatchObject({ ok: false, failure: 'the server answered a version-2 request with a version-1 WELCOME' });
});

it('§2.1: the versions come from the start of the reason; none in common is a final failure, without a retry', async () => {
  fake = new ScriptedServer((c) => {
    c.send({ type: MessageType.REJECT, code: RejectCode.UNSUPPORTED_VERSION, reason: '7,9: protocol version 2 is not supported' });
    c.socket.end();
  });
  const port = await fake.listen();
  const result = await startClient(port, LENGTH, { maxReconnects: 5 }).result;
  expect(fake.conns).toHaveLength(1);
  expect(result.ok).toBe(false);
  expect(result.failure).toMatch(/UNSUPPORTED_VERSION/);
});

it('§2.1: an old-style reason with no list: the client steps down one version', async () => {
  fake = new ScriptedServer((c) => {
    if (c.first.type === MessageType.HELLO && c.first.version === 2) {
      c.send({ type: MessageType.REJECT, code: RejectCode.UNSUPPORTED_VERSION, reason: 'this server speaks 1' });
      c.socket.end();
    } else {
      c.welcome(0);
      c.numbers(0, LENGTH);
      c.end();
    }
  });
  const port = await fake.listen();
  const result = await startClient(port, LENGTH, { maxReconnects: 5 }).result;
  expect(fake.conns.map((c) => c.first.type === MessageType.HELLO && c.first.version)).toEqual([2, 1]);
  expect(result.ok).toBe(true);
});
