/**
 * What `--inspect[=value]` starts, behind one function the server program calls:
 *
 *   PORT (a number)     the local inspector page (works offline); 0 picks a free port
 *   stately             @statelyai/inspect's local bridge to Stately's hosted inspector UI
 *                       (the page embeds stately.ai, so the browser needs the internet)
 *   ws://HOST:PORT      @statelyai/inspect's WebSocket inspector, to a receiver of your own
 *
 * @statelyai/inspect is ESM-only and this build is CommonJS, so it is loaded with a real
 * dynamic import, and only when asked for: a server without --inspect never loads it.
 */
import net from 'node:net';
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { InspectorHub } from './hub';
import { InspectorServer } from './http';
import type { ReadClusterCounts } from './cluster-counts';

/** Port of the Stately bridge (the package's default, 8080, is too often taken). */
export const STATELY_BRIDGE_PORT = 49159;

export interface Inspection {
  /** The observer to give every session actor. */
  inspect: (ev: InspectionEvent) => void;
  /** One line for the log: where to look. */
  describe: string;
  close(): Promise<void>;
}

export interface LaunchOptions {
  value: string;
  host: string;
  machine: AnyStateMachine;
  intervalMs: number;
  probeIndex: (sessionId: string) => number | undefined;
  /** The shared store's counts by state, shown beside this node's sessions (null: not shared). */
  clusterCounts?: ReadClusterCounts;
}

export class InspectError extends Error {
  override readonly name = 'InspectError';
}

// tsc (module: commonjs) would turn `import()` into `require()`, which cannot load ESM.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** The protocol session id is a resume credential: Stately's UI sees its first 8 digits only. */
function hideSessionId(context: Record<string, unknown>): Record<string, unknown> {
  return typeof context.id === 'string' ? { ...context, id: context.id.slice(0, 8) } : context;
}

export function parseInspectValue(value: string): { kind: 'local'; port: number } | { kind: 'stately' } | { kind: 'ws'; url: string } {
  if (/^\d+$/.test(value)) {
    const port = Number(value);
    if (port > 65535) throw new InspectError(`--inspect: port must be in 0..65535, got ${value}`);
    return { kind: 'local', port };
  }
  if (value === 'stately') return { kind: 'stately' };
  if (/^wss?:\/\/[^\s]+$/.test(value)) return { kind: 'ws', url: value };
  throw new InspectError(`--inspect: expected a port, "stately" or a ws:// URL, got "${value}"`);
}

interface StatelyModule {
  createWebSocketInspector(o: { url: string; sanitizeContext?: (c: Record<string, unknown>) => Record<string, unknown> }): {
    inspect: { next?: (ev: InspectionEvent) => void };
    stop(): void;
  };
}
interface StatelyServerModule {
  createInspectorServer(o: { port: number; autoOpen: boolean }): { stop(): void };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, () => probe.close(() => resolve(true)));
  });
}

export async function launchInspection(opts: LaunchOptions): Promise<Inspection> {
  const mode = parseInspectValue(opts.value);
  if (mode.kind === 'local') {
    const hub = new InspectorHub({ intervalMs: opts.intervalMs, probeIndex: opts.probeIndex });
    const http = new InspectorServer(hub, opts.machine, { clusterCounts: opts.clusterCounts });
    const port = await http.listen(opts.host, mode.port);
    const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    return {
      inspect: hub.inspect,
      describe: `inspector on http://${shownHost}:${port}/ (live sessions; works offline)`,
      close: async () => {
        hub.close();
        await http.close();
      },
    };
  }
  const stately = (await importEsm('@statelyai/inspect')) as StatelyModule;
  let bridge: { stop(): void } | null = null;
  let url = mode.kind === 'ws' ? mode.url : `ws://localhost:${STATELY_BRIDGE_PORT}`;
  if (mode.kind === 'stately') {
    // The bridge's own server has no error handler: a taken port would crash the process.
    if (!(await portFree(STATELY_BRIDGE_PORT))) {
      throw Object.assign(new Error(`port ${STATELY_BRIDGE_PORT} for the Stately bridge is already in use`), { code: 'EADDRINUSE' });
    }
    const server = (await importEsm('@statelyai/inspect/server')) as StatelyServerModule;
    bridge = server.createInspectorServer({ port: STATELY_BRIDGE_PORT, autoOpen: false });
    url = `ws://localhost:${STATELY_BRIDGE_PORT}`;
  }
  const inspector = stately.createWebSocketInspector({ url, sanitizeContext: hideSessionId });
  return {
    inspect: (ev) => inspector.inspect.next?.(ev),
    describe:
      mode.kind === 'stately'
        ? `Stately inspector bridge: open http://localhost:${STATELY_BRIDGE_PORT}/ in a browser (the UI comes from stately.ai and needs the internet; --inspect=PORT is the offline one)`
        : `sending inspection events to ${url} (@statelyai/inspect WebSocket inspector)`,
    close: async () => {
      inspector.stop();
      bridge?.stop();
    },
  };
}
