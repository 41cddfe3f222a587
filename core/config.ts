/**
 * Configuration: one table of settings (the successor of the seed's constants.py), each with its
 * default, environment variable and command-line flag. Every program parses its subset of this
 * table, so a default or a name lives in exactly one place. Precedence: flag > environment > default.
 *
 * Just over ~250 lines: the one settings table and the parsing, validation and help that read
 * it; keeping them together is the point (one source of truth for every flag, env and default).
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

type Kind = 'port' | 'duration' | 'count' | 'string' | 'level' | 'bool';

interface Setting<K extends Kind> {
  readonly kind: K;
  readonly flag: string;
  readonly env?: string;
  readonly help: string;
  readonly default: K extends 'port' | 'duration' | 'count' ? number : K extends 'bool' ? boolean : K extends 'level' ? LogLevel : string;
  /** The flag may stand alone (`--inspect`) and then means this; a value needs `=` (`--inspect=9000`). */
  readonly implied?: string;
  /** Smallest accepted value, for numbers. */
  readonly min?: number;
  readonly max?: number;
}

function setting<K extends Kind>(s: Setting<K>): Setting<K> {
  return s;
}

/** The local inspector's port when `--inspect` is given without one. */
export const DEFAULT_INSPECT_PORT = 49158;

export const SETTINGS = {
  host: setting({ kind: 'string', flag: 'host', env: 'SEQSTREAM_HOST', default: '127.0.0.1', help: 'address to listen on or connect to' }),
  port: setting({ kind: 'port', flag: 'port', env: 'SEQSTREAM_PORT', default: 49155, help: 'server port' }),
  proxyPort: setting({ kind: 'port', flag: 'proxy-port', env: 'SEQSTREAM_PROXY_PORT', default: 49156, help: 'port the proxy listens on' }),
  upstreamHost: setting({ kind: 'string', flag: 'upstream-host', env: 'SEQSTREAM_UPSTREAM_HOST', default: '127.0.0.1', help: 'host of the server the proxy relays to' }),
  interval: setting({ kind: 'duration', flag: 'interval', env: 'SEQSTREAM_SEND_INTERVAL', default: 1000, min: 1, max: 3_600_000, help: 'time between two numbers of a session' }),
  heartbeatInterval: setting({ kind: 'duration', flag: 'heartbeat-interval', env: 'SEQSTREAM_HEARTBEAT_INTERVAL', default: 2000, min: 1, max: 3_600_000, help: 'how often the client sends a heartbeat' }),
  heartbeatTimeout: setting({ kind: 'duration', flag: 'heartbeat-timeout', env: 'SEQSTREAM_HEARTBEAT_TIMEOUT', default: 6000, min: 1, max: 3_600_000, help: 'silence after which a link is declared dead' }),
  reconnectWindow: setting({ kind: 'duration', flag: 'reconnect-window', env: 'SEQSTREAM_RECONNECT_WINDOW', default: 30_000, min: 1, max: 86_400_000, help: 'how long a disconnected session is kept for a resume' }),
  handshakeTimeout: setting({ kind: 'duration', flag: 'handshake-timeout', env: 'SEQSTREAM_HANDSHAKE_TIMEOUT', default: 5000, min: 1, max: 3_600_000, help: 'time a new connection has to send HELLO or RESUME' }),
  length: setting({ kind: 'count', flag: 'length', env: 'SEQSTREAM_LENGTH', default: 0, min: 1, max: 65535, help: 'numbers to request, 1..65535 (default: the server picks a random length)' }),
  workers: setting({ kind: 'count', flag: 'workers', env: 'SEQSTREAM_WORKERS', default: 1, min: 1, max: 64, help: 'server processes on this machine sharing one port (Node cluster; a worker that dies is started again); more than 1 needs a shared --store' }),
  drainTimeout: setting({ kind: 'duration', flag: 'drain-timeout', env: 'SEQSTREAM_DRAIN_TIMEOUT', default: 5000, help: 'on SIGTERM/SIGINT, how long to wait for the store to take every suspended session before exiting' }),
  store: setting({ kind: 'string', flag: 'store', env: 'SEQSTREAM_STORE', default: 'memory', help: 'where sessions live: memory (this process only) or redis://[user:password@]host[:port][/db] (also rediss:// for TLS), shared by every server process and node' }),
  maxSessions: setting({ kind: 'count', flag: 'max-sessions', env: 'SEQSTREAM_MAX_SESSIONS', default: 19_500, min: 1, max: 10_000_000, help: 'sessions held at once; more are rejected as server full' }),
  maxWriteBuffer: setting({ kind: 'count', flag: 'max-write-buffer', env: 'SEQSTREAM_MAX_WRITE_BUFFER', default: 65_536, min: 1024, max: 1 << 30, help: 'bytes queued to a client that is not reading before it is cut' }),
  maxMessageRate: setting({ kind: 'count', flag: 'max-message-rate', env: 'SEQSTREAM_MAX_MESSAGE_RATE', default: 100, min: 0, max: 1_000_000, help: 'messages per second one connection may send after a burst of twice as many (a client sends one heartbeat per interval); more get RATE_LIMITED (0: no limit)' }),
  maxSessionsPerSource: setting({ kind: 'count', flag: 'max-sessions-per-source', env: 'SEQSTREAM_MAX_SESSIONS_PER_SOURCE', default: 1000, min: 0, max: 10_000_000, help: 'sessions one address (an IPv6 /64) may hold at once; more are rejected as rate limited (0: no limit)' }),
  newSessionRate: setting({ kind: 'count', flag: 'new-session-rate', env: 'SEQSTREAM_NEW_SESSION_RATE', default: 100, min: 0, max: 1_000_000, help: 'new sessions per second one address may open, after a burst (0: no limit)' }),
  newSessionBurst: setting({ kind: 'count', flag: 'new-session-burst', env: 'SEQSTREAM_NEW_SESSION_BURST', default: 200, min: 1, max: 10_000_000, help: 'new sessions one address may open at once before --new-session-rate applies' }),
  maxPendingHandshakes: setting({ kind: 'count', flag: 'max-pending-handshakes', env: 'SEQSTREAM_MAX_PENDING_HANDSHAKES', default: 4096, min: 0, max: 10_000_000, help: 'connections that have not sent HELLO or RESUME yet, in all; more are rejected as server full (0: no limit)' }),
  maxPendingPerSource: setting({ kind: 'count', flag: 'max-pending-per-source', env: 'SEQSTREAM_MAX_PENDING_PER_SOURCE', default: 256, min: 0, max: 10_000_000, help: 'such connections from one address; more are rejected as rate limited (0: no limit)' }),
  reservedFiles: setting({ kind: 'count', flag: 'reserved-files', env: 'SEQSTREAM_RESERVED_FILES', default: 64, min: 0, max: 1_000_000, help: 'open files kept free below the process limit; new connections past it are rejected as server full' }),
  logLevel: setting({ kind: 'level', flag: 'log-level', env: 'SEQSTREAM_LOG_LEVEL', default: 'info', help: 'error | warn | info | debug (debug logs every number)' }),
  logFile: setting({ kind: 'string', flag: 'log-file', env: 'SEQSTREAM_LOG_FILE_PATH', default: 'logs/app.log', help: 'JSON-lines log file ("" for none); its folder is created' }),
  logMaxSize: setting({ kind: 'count', flag: 'log-max-size', env: 'SEQSTREAM_LOG_MAX_SIZE', default: 10 * 1024 * 1024, min: 0, max: 1 << 40, help: 'bytes after which the log file is rotated (0: never)' }),
  logMaxFiles: setting({ kind: 'count', flag: 'log-max-files', env: 'SEQSTREAM_LOG_MAX_FILES', default: 5, min: 2, max: 1000, help: 'log files kept by rotation, the current one included (at least 2: the current and the one before)' }),
  logBurst: setting({ kind: 'count', flag: 'log-burst', env: 'SEQSTREAM_LOG_BURST', default: 50, min: 1, max: 1_000_000, help: 'per-session lifecycle lines (new, resumed, suspended, complete…) logged in one second; beyond, the rest of the second is one summary line (every line at debug)' }),
  logRepeatPeriod: setting({ kind: 'duration', flag: 'log-repeat-period', env: 'SEQSTREAM_LOG_REPEAT_PERIOD', default: 10_000, min: 100, max: 3_600_000, help: 'repeated warnings from one address (bad frames, refusals) are counted and logged once per period' }),
  maxBackoff: setting({ kind: 'duration', flag: 'max-backoff', env: 'SEQSTREAM_MAX_BACKOFF', default: 5000, min: 1, max: 3_600_000, help: 'cap of the client reconnect backoff' }),
  maxReconnects: setting({ kind: 'count', flag: 'max-reconnects', env: 'SEQSTREAM_MAX_RECONNECTS', default: 0, min: 0, max: 1e9, help: 'give up after this many reconnects in a row (0: never, like the seed)' }),
  inspect: setting({
    kind: 'string',
    flag: 'inspect',
    env: 'SEQSTREAM_INSPECT',
    default: '',
    implied: String(DEFAULT_INSPECT_PORT),
    help: `live session inspector: --inspect (web page on port ${DEFAULT_INSPECT_PORT}), --inspect=PORT (0: any free port), --inspect=stately (Stately's inspector, needs internet), --inspect=ws://HOST:PORT (a @statelyai/inspect WebSocket receiver)`,
  }),
  inspectHost: setting({ kind: 'string', flag: 'inspect-host', env: 'SEQSTREAM_INSPECT_HOST', default: '127.0.0.1', help: 'address the inspector page listens on (it shows every session: keep it on loopback)' }),
  metricsPort: setting({ kind: 'count', flag: 'metrics-port', env: 'SEQSTREAM_METRICS_PORT', default: 0, min: 0, max: 65535, help: 'serve Prometheus metrics (GET /metrics) and the load balancer\'s readiness check (GET /ready) on this port (0: off)' }),
  metricsHost: setting({ kind: 'string', flag: 'metrics-host', env: 'SEQSTREAM_METRICS_HOST', default: '127.0.0.1', help: 'address of --metrics-port (no Host check: scrapers and health checks come from other hosts; give the address they reach this node on)' }),
  controlHost: setting({ kind: 'string', flag: 'control-host', env: 'SEQSTREAM_CONTROL_HOST', default: '127.0.0.1', help: 'address of the proxy\'s HTTP control API (keep it on loopback: it can cut every connection)' }),
  controlPort: setting({ kind: 'count', flag: 'control-port', env: 'SEQSTREAM_CONTROL_PORT', default: 49157, min: 0, max: 65535, help: 'port of the proxy\'s HTTP control API (0: no API)' }),
  chaos: setting({ kind: 'string', flag: 'chaos', env: 'SEQSTREAM_CHAOS', default: '', help: 'inject random faults of these kinds: "all" or a list such as cut,reset,freeze,latency,slicer ("" : off)' }),
  seed: setting({ kind: 'count', flag: 'seed', env: 'SEQSTREAM_CHAOS_SEED', default: 0, min: 0, max: 4294967295, help: 'seed of the chaos schedule, to replay a run (0: a random one, printed at start)' }),
  chaosInterval: setting({ kind: 'duration', flag: 'chaos-interval', env: 'SEQSTREAM_CHAOS_INTERVAL', default: 3000, min: 1, max: 3_600_000, help: 'mean time between two chaos faults' }),
  chaosMaxDuration: setting({ kind: 'duration', flag: 'chaos-max-duration', env: 'SEQSTREAM_CHAOS_MAX_DURATION', default: 2000, min: 1, max: 3_600_000, help: 'longest a chaos fault lasts' }),
  // TLS. The session id is the only credential, so on an untrusted path it must not travel in
  // cleartext. One flag may mean a different file per program (--tls-ca): the help says both.
  tlsCert: setting({ kind: 'string', flag: 'tls-cert', env: 'SEQSTREAM_TLS_CERT', default: '', help: 'PEM certificate (chain), with --tls-key. Server: serve TLS with it. Client: present it when the server asks for one' }),
  tlsKey: setting({ kind: 'string', flag: 'tls-key', env: 'SEQSTREAM_TLS_KEY', default: '', help: 'PEM private key of --tls-cert (both or neither)' }),
  tlsCa: setting({ kind: 'string', flag: 'tls-ca', env: 'SEQSTREAM_TLS_CA', default: '', help: 'PEM CA certificate(s). Server: require client certificates signed by it. Client: trust the server\'s certificate only if signed by it (a private CA; implies --tls)' }),
  tls: setting({ kind: 'bool', flag: 'tls', env: 'SEQSTREAM_TLS', default: false, help: 'connect with TLS, verifying the server\'s certificate against the system CAs (or --tls-ca)' }),
  tlsServername: setting({ kind: 'string', flag: 'tls-servername', env: 'SEQSTREAM_TLS_SERVERNAME', default: '', help: 'name the server\'s certificate must carry, also sent as SNI (default: the host; implies --tls)' }),
  json: setting({ kind: 'bool', flag: 'json', default: false, help: 'print the result as one JSON object' }),
  trace: setting({ kind: 'bool', flag: 'trace', default: false, help: 'print every state change of the client machine' }),
  quiet: setting({ kind: 'bool', flag: 'quiet', default: false, help: 'no progress output, only the verdict' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type ValueOf<N extends SettingName> = (typeof SETTINGS)[N]['default'];
export type Config<N extends SettingName> = { -readonly [K in N]: ValueOf<K> };

/** Defaults of every setting, for code (tests, the demo) that builds a config without a CLI. */
export const DEFAULTS: Config<SettingName> = Object.fromEntries(
  Object.entries(SETTINGS).map(([k, s]) => [k, s.default]),
) as Config<SettingName>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses "250", "250ms", "2s", "1.5s", "1m" into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) throw new ConfigError(`"${text}" is not a duration (examples: 500, 500ms, 2s, 1m)`);
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  return Math.round(n);
}

function parseValue(name: string, s: Setting<Kind>, raw: string, source: string): number | string | boolean {
  const where = source === 'flag' ? `option --${s.flag}` : source === 'argument' ? `argument <${s.flag}>` : `${source} ${s.env}`;
  switch (s.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${where}: "${raw}" is not a boolean`);
    case 'level':
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new ConfigError(`${where}: log level must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
      return raw;
    case 'port': {
      if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 65535) throw new ConfigError(`${where}: port must be a whole number in 1..65535, got "${raw}"`);
      return Number(raw);
    }
    case 'duration':
    case 'count': {
      let n: number;
      try {
        n = s.kind === 'duration' ? parseDuration(raw) : /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
      } catch (e) {
        throw new ConfigError(`${where}: ${(e as Error).message}`);
      }
      if (!Number.isFinite(n)) throw new ConfigError(`${where}: "${raw}" is not a whole non-negative number`);
      if (s.min !== undefined && n < s.min) throw new ConfigError(`${where}: ${name} must be at least ${s.min}${s.kind === 'duration' ? ' ms' : ''}, got ${raw}`);
      if (s.max !== undefined && n > s.max) throw new ConfigError(`${where}: ${name} must be at most ${s.max}${s.kind === 'duration' ? ' ms' : ''}, got ${raw}`);
      return n;
    }
  }
}

export interface ProgramSpec<N extends SettingName> {
  readonly program: string;
  readonly summary: string;
  /** Positional arguments in order, each bound to a setting (the seed's usage). */
  readonly positionals: readonly { name: string; setting: N; required?: boolean }[];
  readonly settings: readonly N[];
  readonly extraHelp?: string;
}

export type ParseResult<N extends SettingName> = { help: string } | { config: Config<N> };

/**
 * Parses argv (without node and script) and the environment into a validated config.
 *
 * The tokenising is ours, not Node's `util.parseArgs`, because that cannot express two flags
 * we have (checked on Node 20.20): an optional-value flag — `--inspect` alone is refused
 * (ERR_PARSE_ARGS_INVALID_OPTION_VALUE) and `--inspect 49155` takes the positional port as its
 * value, where ours keeps a following word positional (`server --inspect 5000`) and takes a value
 * only as `--inspect=V`; and a boolean with a value (`--quiet=false`, also refused), which the
 * environment's form of every boolean needs to mirror. Both are tested in config.test.ts.
 */
export function parseArgs<N extends SettingName>(
  spec: ProgramSpec<N>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParseResult<N> {
  const cfg: Record<string, unknown> = {};
  const table = SETTINGS as Record<string, Setting<Kind>>;
  for (const name of spec.settings) {
    const s = table[name];
    cfg[name] = s.default;
    const raw = s.env ? env[s.env] : undefined;
    if (raw !== undefined && raw !== '') cfg[name] = parseValue(name, s, raw, 'environment variable');
  }
  const byFlag = new Map(spec.settings.map((n) => [table[n].flag, n] as const));
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: helpText(spec) };
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const flag = arg.slice(2, eq === -1 ? undefined : eq);
      const negated = flag.startsWith('no-') && byFlag.has(flag.slice(3) as never);
      const name = byFlag.get((negated ? flag.slice(3) : flag) as never);
      if (!name) throw new ConfigError(`unknown option --${flag} (see --help)`);
      const s = table[name];
      if (s.kind === 'bool') {
        cfg[name] = eq === -1 ? !negated : parseValue(name, s, arg.slice(eq + 1), 'flag');
        continue;
      }
      if (s.implied !== undefined && eq === -1) {
        cfg[name] = s.implied;
        continue;
      }
      const raw = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (raw === undefined) throw new ConfigError(`option --${flag} needs a value`);
      cfg[name] = parseValue(name, s, raw, 'flag');
    } else {
      positional.push(arg);
    }
  }
  if (positional.length > spec.positionals.length) {
    throw new ConfigError(`too many arguments: ${positional.slice(spec.positionals.length).join(' ')} (see --help)`);
  }
  spec.positionals.forEach((p, i) => {
    const raw = positional[i];
    if (raw === undefined) {
      if (p.required) throw new ConfigError(`missing argument <${p.name}> (see --help)`);
      return;
    }
    const s = table[p.setting];
    cfg[p.setting] = parseValue(p.name, { ...s, flag: p.name }, raw, 'argument');
  });
  validate(cfg);
  return { config: cfg as Config<N> };
}

/** Cross-setting rules that no single value can check. */
export function validate(cfg: Partial<Record<SettingName, unknown>>): void {
  const hbi = cfg.heartbeatInterval as number | undefined;
  const hbt = cfg.heartbeatTimeout as number | undefined;
  const win = cfg.reconnectWindow as number | undefined;
  if (hbi !== undefined && hbt !== undefined && hbt <= hbi) {
    throw new ConfigError(`heartbeat timeout (${hbt} ms) must be longer than the heartbeat interval (${hbi} ms), or every link would be declared dead`);
  }
  // Either file alone is a half-configured TLS: refuse it rather than silently serve cleartext.
  if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey)) {
    throw new ConfigError(`--tls-cert and --tls-key go together: give both or neither (got only ${cfg.tlsCert ? '--tls-cert' : '--tls-key'})`);
  }
  if (hbt !== undefined && win !== undefined && win < hbt) {
    throw new ConfigError(`reconnect window (${win} ms) must not be shorter than the heartbeat timeout (${hbt} ms): a silent link would expire before it is noticed`);
  }
}

export function helpText<N extends SettingName>(spec: ProgramSpec<N>): string {
  const table = SETTINGS as Record<string, Setting<Kind>>;
  const usage = [spec.program, '[options]', ...spec.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`))].join(' ');
  const rows = spec.settings.map((n) => {
    const s = table[n];
    const left = `  --${s.flag}${s.kind === 'bool' ? '' : s.implied !== undefined ? '[=value]' : ' <' + (s.kind === 'duration' ? 'ms|Ns' : s.kind === 'level' ? 'level' : s.kind === 'port' ? 'port' : s.kind === 'count' ? 'n' : 'text') + '>'}`;
    const shown = s.kind === 'duration' ? s.default + ' ms' : s.default === '' ? 'off' : JSON.stringify(s.default);
    const def = s.kind === 'bool' ? '' : ` [default ${shown}${s.env ? ', env ' + s.env : ''}]`;
    return `${left.padEnd(34)} ${s.help}${def}`;
  });
  return [
    `${spec.summary}`,
    '',
    `Usage: ${usage}`,
    '',
    'Options:',
    ...rows,
    `${'  --help'.padEnd(34)} show this help`,
    spec.extraHelp ? '\n' + spec.extraHelp : '',
  ].join('\n');
}

/** Declares a program's settings with their names inferred, so its Config is typed exactly. */
export function defineProgram<const N extends SettingName>(spec: ProgramSpec<N>): ProgramSpec<N> {
  return spec;
}
