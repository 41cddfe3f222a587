/**
 * The open-file budget is for the connection being admitted: a server with room for N
 * connections (server.fileCapacity === N) admits N, not N - 1 (found in review: accept() counted
 * the new connection among the open ones before asking).
 */
import { openFileCount } from '../transport/server/admission';
import { MessageType } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { RawClient } from './helpers/raw-client';
import { startServer } from './helpers/net';

let server: SeqServer;
afterEach(async () => server?.close());

it('fileCapacity 2: two connections are admitted', async () => {
  const reserved = 4;
  // Room for exactly 2 after the files open now (planFiles reads the count again at listen).
  server = await startServer({ openFileLimit: openFileCount()! + 1 + reserved + 2, admission: { reservedFiles: reserved } } as any);
  const cap = server.fileCapacity;
  const clients: RawClient[] = [];
  for (let i = 0; i < cap; i++) {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    c.hello(5);
    await c.next(MessageType.WELCOME, `a WELCOME or REJECT for connection ${i + 1} of ${cap}`, 2000).catch(() => {});
  }
  const firsts = clients.map((c) => (c.messages[0] ? MessageType[c.messages[0].type] : 'nothing'));
  for (const c of clients) c.close();
  expect(cap).toBeGreaterThanOrEqual(1);
  expect(firsts).toEqual(Array(cap).fill('WELCOME'));
});
