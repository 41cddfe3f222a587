/** A logger whose lines a test can read, for tests about what the server says (and how often). */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../core/logger';

/** `withLevel`: each line starts with its level (`warn …`); otherwise the message alone. */
export function capturingLogger(withLevel = false): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trimEnd());
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'info',
    format: winston.format.printf((i) => `${withLevel ? `${i.level} ` : ''}${String(i.message)}`),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}
