import { sequenceChecksum, valueAt } from '../core/sequence';
import { startClient, startServer } from './helpers/net';

describe('streaming over real TCP', () => {
  it('delivers a full sequence with matching checksums and leaves no session behind', async () => {
    const server = await startServer();
    try {
      const received: number[] = [];
      const c = startClient(server.port, 50, { onNumber: (i) => received.push(i) });
      const r = await c.result;
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.length).toBe(50);
      expect(received).toEqual([...Array(50).keys()]);
      const seed = c.verifier.seed!;
      expect(r.serverChecksum).toBe(sequenceChecksum(seed, 50));
      expect(valueAt(seed, 0)).toBeDefined();
      await new Promise<void>((resolve) => (server.sessionCount === 0 ? resolve() : server.once('complete', () => resolve())));
      expect(server.sessionCount).toBe(0);
      expect(server.store.size).toBe(0);
    } finally {
      await server.close();
    }
  });
});
