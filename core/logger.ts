/**
 * Logging: readable lines on stderr (stdout is kept for program output such as the client's
 * verdict and --json), JSON lines in a file. Session context travels as child-logger metadata.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';
import type { LogLevel } from './config';

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
}

const lineFormat = (clear: boolean) => winston.format.printf((info) => {
  const { level, message, timestamp, program, session, index, ...rest } = info as Record<string, unknown>;
  const ctx = [program, session ? `s=${String(session)}` : '', index !== undefined ? `i=${String(index)}` : ''].filter(Boolean).join(' ');
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${clear ? '\r\x1b[2K' : ''}${String(timestamp)} ${String(level).padEnd(5)} [${ctx}] ${String(message)}${extra}`;
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
    transports.push(
      new winston.transports.File({
        filename: opts.file,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level: opts.level, defaultMeta: { program: opts.program }, transports });
}

/** A logger that drops everything: for library use and tests that assert on behaviour, not logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
}

/** First 8 hex digits of a session id: enough to tell sessions apart in logs, useless to resume one. */
export function shortId(id: Buffer | string): string {
  return (typeof id === 'string' ? id : id.toString('hex')).slice(0, 8);
}
