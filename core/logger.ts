/**
 * Logging: readable lines on stderr (stdout is kept for program output such as the client's
 * verdict and --json), JSON lines in a file. Session context travels as child-logger metadata.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createStream } from 'rotating-file-stream';
import winston from 'winston';
import { DEFAULTS, type LogLevel } from './config';
import { escapeText } from './escape';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: LogLevel;
  /** Path of the JSON-lines file; empty for none. */
  file: string;
  program: string;
  /** Console output; off in tests and for --json runs that want a clean terminal. */
  console?: boolean;
  /** Erase the terminal line before each console line: a program keeps a live status line there. */
  clearLine?: boolean;
  /** Rotate the file past this many bytes (0: never), keeping this many files in all. */
  maxSize?: number;
  maxFiles?: number;
}

const lineFormat = (clear: boolean) => winston.format.printf((info) => {
  const { level, message, timestamp, program, session, index, ...rest } = info as Record<string, unknown>;
  const ctx = [program, session ? `s=${String(session)}` : '', index !== undefined ? `i=${String(index)}` : ''].filter(Boolean).join(' ');
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  // Escaped here too, whatever the caller did: a log line may quote a peer (JSON lines in the
  // file escape control characters by themselves).
  return `${clear ? '\r\x1b[2K' : ''}${String(timestamp)} ${String(level).padEnd(5)} [${ctx}] ${escapeText(String(message))}${escapeText(extra)}`;
});

export function createLogger(opts: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'debug'],
        format: winston.format.combine(winston.format.timestamp({ format: 'HH:mm:ss.SSS' }), lineFormat(opts.clearLine ?? false)),
      }),
    );
  }
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    const format = winston.format.combine(winston.format.timestamp(), winston.format.json());
    const maxSize = opts.maxSize ?? DEFAULTS.logMaxSize;
    transports.push(
      maxSize > 0
        ? new winston.transports.Stream({ stream: rotatingFile(opts.file, maxSize, opts.maxFiles ?? DEFAULTS.logMaxFiles), format })
        : new winston.transports.File({ filename: opts.file, format }),
    );
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level: opts.level, defaultMeta: { program: opts.program }, transports });
}

/**
 * The log file, rotated by size: `app.log` is the current one, rotated ones get a time stamp in
 * their name (20261127-1022-01-app.log) and only the newest maxFiles - 1 are kept (the list is
 * in app.log.history). Not winston's own File rotation (maxsize/maxFiles): measured here, it
 * wrote nothing at all once 100 lines came in one turn of the event loop — the burst a log
 * flood is — and kept them in memory instead (winstonjs/winston#1655, #2354).
 */
function rotatingFile(file: string, maxSize: number, maxFiles: number): NodeJS.WritableStream {
  const stream = createStream(basename(file), {
    path: dirname(file),
    size: `${maxSize}B`,
    maxFiles: Math.max(1, maxFiles - 1),
    history: `${basename(file)}.history`,
  });
  // A full disk or a removed folder must not crash the program: say it once, keep running.
  let warned = false;
  stream.on('error', (err: Error) => {
    if (!warned) process.stderr.write(`log file ${file}: ${err.message}; file logging may be incomplete\n`);
    warned = true;
  });
  return stream;
}

/** A logger that drops everything: for library use and tests that assert on behaviour, not logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
}

/** First 8 hex digits of a session id: enough to tell sessions apart in logs, useless to resume one. */
export function shortId(id: Buffer | string): string {
  return (typeof id === 'string' ? id : id.toString('hex')).slice(0, 8);
}
