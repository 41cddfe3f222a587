import { ConfigError, defineProgram, parseArgs, parseDuration, SETTINGS } from '../core/config';

const spec = defineProgram({
  program: 'server',
  summary: 'test server',
  positionals: [{ name: 'port', setting: 'port' }],
  settings: ['port', 'host', 'interval', 'heartbeatInterval', 'heartbeatTimeout', 'reconnectWindow', 'logLevel', 'json'],
});

function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = parseArgs(spec, argv, env);
  if ('help' in r) throw new Error('unexpected help');
  return r.config;
}

describe('config', () => {
  it('defaults are the seed constants', () => {
    expect(parse([])).toEqual({
      port: 49155,
      host: '127.0.0.1',
      interval: 1000,
      heartbeatInterval: 2000,
      heartbeatTimeout: 6000,
      reconnectWindow: 30000,
      logLevel: 'info',
      json: false,
    });
  });

  it('environment overrides defaults, flags override the environment, positionals set their setting', () => {
    const env = { SEQSTREAM_SEND_INTERVAL: '250ms', SEQSTREAM_LOG_LEVEL: 'debug', SEQSTREAM_PORT: '5000' };
    expect(parse([], env)).toMatchObject({ interval: 250, logLevel: 'debug', port: 5000 });
    expect(parse(['--interval', '2s', '--log-level=warn', '6000'], env)).toMatchObject({ interval: 2000, logLevel: 'warn', port: 6000 });
    expect(parse(['--json'])).toMatchObject({ json: true });
    expect(parse(['--no-json'], {})).toMatchObject({ json: false });
  });

  it.each([
    ['500', 500],
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60000],
  ])('duration %s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([
    [['--interval', '-5'], /not a duration/],
    [['--interval', 'soon'], /not a duration/],
    [['--interval', '0'], /interval must be at least 1 ms/],
    [['0'], /port must be a whole number in 1\.\.65535/],
    [['70000'], /port must be a whole number in 1\.\.65535/],
    [['--heartbeat-interval', '2s', '--heartbeat-timeout', '2s'], /heartbeat timeout .* must be longer than the heartbeat interval/],
    [['--heartbeat-timeout', '10s', '--reconnect-window', '5s'], /reconnect window .* must not be shorter than the heartbeat timeout/],
    [['--log-level', 'loud'], /log level must be one of error, warn, info, debug/],
    [['--bogus'], /unknown option --bogus/],
    [['--interval'], /option --interval needs a value/],
    [['1', '2'], /too many arguments: 2/],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parse(argv as string[])).toThrow(ConfigError);
    expect(() => parse(argv as string[])).toThrow(message as RegExp);
  });

  it('bad environment values are refused with the variable named', () => {
    expect(() => parse([], { SEQSTREAM_RECONNECT_WINDOW: 'forever' })).toThrow(/SEQSTREAM_RECONNECT_WINDOW/);
  });

  it('a required positional is enforced', () => {
    const client = defineProgram({ program: 'client', summary: '', positionals: [{ name: 'port', setting: 'port', required: true }], settings: ['port'] });
    expect(() => parseArgs(client, [], {})).toThrow(/missing argument <port>/);
  });

  it('--help lists every flag of the program with its default and environment variable', () => {
    const r = parseArgs(spec, ['--interval', '5', '--help'], {});
    if (!('help' in r)) throw new Error('expected help');
    expect(r.help).toMatch(/Usage: server \[options\] \[port\]/);
    for (const name of spec.settings) {
      expect(r.help).toContain(`--${SETTINGS[name].flag}`);
      const env = (SETTINGS[name] as { env?: string }).env;
      if (env) expect(r.help).toContain(env);
    }
  });
});

describe('a flag whose value is optional (--inspect)', () => {
  const withInspect = defineProgram({ program: 'server', summary: 't', positionals: [{ name: 'port', setting: 'port' }], settings: ['port', 'inspect'] });
  const p = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = parseArgs(withInspect, argv, env);
    if ('help' in r) throw new Error('unexpected help');
    return r.config;
  };

  it('is off by default, the default port alone, a value only with "="; a following word stays positional', () => {
    expect(p([]).inspect).toBe('');
    expect(p(['--inspect'])).toEqual({ port: 49155, inspect: String(SETTINGS.inspect.implied) });
    expect(p(['--inspect=0']).inspect).toBe('0');
    expect(p(['--inspect=stately']).inspect).toBe('stately');
    expect(p(['--inspect', '5000'])).toEqual({ port: 5000, inspect: '49158' });
    expect(p([], { SEQSTREAM_INSPECT: '7000' }).inspect).toBe('7000');
  });
});

describe('a boolean flag', () => {
  const withJson = defineProgram({ program: 'client', summary: 't', positionals: [{ name: 'port', setting: 'port' }], settings: ['port', 'json'] });
  const json = (argv: string[]) => {
    const r = parseArgs(withJson, argv, {});
    if ('help' in r) throw new Error('unexpected help');
    return r.config.json;
  };

  it('alone, negated, or with a value as its environment variable would carry it (why util.parseArgs is not used)', () => {
    expect(json([])).toBe(false);
    expect(json(['--json'])).toBe(true);
    expect(json(['--no-json'])).toBe(false);
    expect(json(['--json=false'])).toBe(false);
    expect(json(['--json=yes'])).toBe(true);
    expect(() => json(['--json=maybe'])).toThrow(ConfigError);
  });
});
