/**
 * Sessions leave nothing behind: after many complete or expire, the registry is empty, every
 * actor is stopped and no timer is pending, whether on a simulated clock or over real TCP.
 */
import { SimulatedClock } from 'xstate';
import { sessionMachine } from '../machines/session.machine';
import { SessionRegistry } from '../transport/server/session-registry';
import { startClient, startServer, waitFor, storedSessions } from './helpers/net';

/** SimulatedClock keeps its pending timeouts in a private map; its size is the timer count. */
const pendingTimers = (clock: SimulatedClock) => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;

describe('SessionRegistry', () => {
  it('after 2000 sessions complete or expire, the registry is empty, every actor done, no timer pending', () => {
    const clock = new SimulatedClock();
    const registry = new SessionRegistry(sessionMachine, { clock });
    const actors = [];
    for (let k = 0; k < 2000; k++) {
      actors.push(registry.start({ id: `s${k}`, length: 5, nextIndex: 0, connectionId: k, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30000 }));
    }
    expect(registry.size).toBe(2000);
    expect(pendingTimers(clock)).toBe(2000); // one heartbeat timer each
    for (let k = 0; k < 2000; k += 2) {
      registry.send(`s${k}`, { type: 'ALL_SENT' });
      registry.send(`s${k}`, { type: 'ACK' });
    }
    for (let k = 1; k < 2000; k += 2) registry.send(`s${k}`, { type: 'DISCONNECTED', connectionId: k });
    expect(registry.size).toBe(1000);
    clock.increment(30000);
    expect(registry.size).toBe(0);
    expect(pendingTimers(clock)).toBe(0);
    expect(actors.every((a) => a.getSnapshot().status === 'done')).toBe(true);
    expect(actors.filter((a) => a.getSnapshot().value === 'complete')).toHaveLength(1000);
    expect(actors.filter((a) => a.getSnapshot().value === 'expired')).toHaveLength(1000);
  });

  it('stopAll stops live sessions and cancels their timers', () => {
    const clock = new SimulatedClock();
    const registry = new SessionRegistry(sessionMachine, { clock });
    for (let k = 0; k < 100; k++) registry.start({ id: `s${k}`, length: 5, nextIndex: 0, connectionId: k, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30000 });
    registry.stopAll();
    expect(registry.size).toBe(0);
    expect(pendingTimers(clock)).toBe(0);
  });

  it('refuses a second actor for the same session id', () => {
    const registry = new SessionRegistry(sessionMachine, { clock: new SimulatedClock() });
    const input = { id: 'x', length: 5, nextIndex: 0, connectionId: 1, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30000 };
    registry.start(input);
    expect(() => registry.start(input)).toThrow(/already has an actor/);
    registry.stopAll();
  });
});

describe('a real server over TCP', () => {
  it('holds no session, record or timer after 30 clients complete and 10 sessions expire', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const server = await startServer({ reconnectWindowMs: 150 });
    try {
      const baseline = timers();
      const done = await Promise.all(Array.from({ length: 30 }, (_, k) => startClient(server.port, 20 + k).result));
      expect(done.every((r) => r.ok)).toBe(true);
      // Ten more sessions whose clients vanish: each must expire and leave nothing.
      const vanishing = Array.from({ length: 10 }, () => startClient(server.port, 1000));
      await waitFor(() => vanishing.every((c) => c.verifier.nextIndex > 0), 'the vanishing sessions to stream');
      let expired = 0;
      server.on('expired', () => expired++);
      for (const c of vanishing) c.stop();
      await waitFor(() => expired === 10, '10 sessions to expire', 5000);
      await waitFor(() => server.sessionCount === 0 && storedSessions(server) === 0 && server.connectionCount === 0, 'no session state');
      // Close-grace timers of the last connections run out within about a second.
      await waitFor(() => timers() <= baseline, `timers back to the baseline of ${baseline}`, 5000);
    } finally {
      await server.close();
    }
  });
});
