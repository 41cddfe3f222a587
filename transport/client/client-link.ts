/**
 * One client connection as an XState callback actor: connect, HELLO or RESUME, check every
 * number, heartbeat, and report lifecycle events to the client machine. A new link is started
 * for every (re)connection; the SequenceVerifier outlives them, so a resume asks for exactly
 * the first index not yet received.
 */
import { fromCallback } from 'xstate';
import { escapeText } from '../../core/escape';
import { describeViolation, type SequenceVerifier } from '../../core/verifier';
import type { LinkEvent, LinkInput } from '../../machines/client.machine';
import {
  ACK_VERDICT_MATCH,
  ACK_VERDICT_MISMATCH,
  INSTANCE_ID_VERSION,
  MessageType,
  PROTOCOL_VERSIONS,
  RejectCode,
  RESUMABLE_REJECTS,
  versionsInReason,
} from '../protocol/constants';
import { decode, encode, type Message } from '../protocol/codec';
import { FrameDecoder } from '../protocol/framer';
import { finalTlsFailure, openSocket } from './client-socket';
import type { ClientTls } from '../tls-files';

export interface LinkOptions {
  host: string;
  port: number;
  /** Connect with TLS (same framing inside); absent: cleartext TCP. */
  tls?: ClientTls | null;
  verifier: SequenceVerifier;
  /** How long to wait for the TCP connection and the WELCOME. */
  connectTimeoutMs: number;
  /** Heartbeat settings used until the server's WELCOME says otherwise. */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Called after each accepted number (progress display). */
  onNumber?: (index: number, value: number) => void;
}

export function createLink(opts: LinkOptions) {
  return fromCallback<{ type: 'NONE' }, LinkInput>(({ input, sendBack }) => {
    const verifier = opts.verifier;
    const decoder = new FrameDecoder();
    const address = `${opts.host}:${opts.port}`;
    // A version-2 RESUME carries the instance id; a session begun in version 1 has none and resumes in 1.
    const version = input.sessionId !== null && input.instanceId === null ? 1 : input.version;
    let finished = false;
    /** TCP came up: from then on a failure is a lost connection, before it a failure to connect. */
    let connected = false;
    let lastHeard = Date.now();
    let hbInterval = opts.heartbeatIntervalMs;
    let hbTimeout = opts.heartbeatTimeoutMs;
    let nonce = 0;
    let heartbeat: NodeJS.Timeout | null = null;
    let watchdog: NodeJS.Timeout | null = null;

    const { socket, ready } = openSocket(opts.host, opts.port, opts.tls);
    socket.setNoDelay(true);

    const stopTimers = () => {
      if (heartbeat) clearInterval(heartbeat);
      if (watchdog) clearInterval(watchdog);
      heartbeat = watchdog = null;
    };
    /** Reports once; after that the link only tears down. */
    const finish = (event: LinkEvent | null) => {
      if (finished) return;
      finished = true;
      stopTimers();
      socket.destroy();
      if (event) sendBack(event);
    };

    // Until the WELCOME arrives, the connect timeout is the watchdog.
    const connectTimer = setTimeout(
      () =>
        finish(
          connected
            ? { type: 'LOST', reason: `no answer from ${address} within ${opts.connectTimeoutMs} ms` }
            : { type: 'UNREACHABLE', address, reason: `no connection within ${opts.connectTimeoutMs} ms` },
        ),
      opts.connectTimeoutMs,
    );

    const startHeartbeats = () => {
      clearTimeout(connectTimer);
      lastHeard = Date.now();
      heartbeat = setInterval(() => socket.write(encode({ type: MessageType.HEARTBEAT, nonce: ++nonce >>> 0 })), hbInterval);
      // Checking at a fraction of the timeout bounds detection to timeout + timeout/4.
      watchdog = setInterval(() => {
        const silent = Date.now() - lastHeard;
        if (silent >= hbTimeout) finish({ type: 'LOST', reason: `no data from the server for ${silent} ms (heartbeat timeout)` });
      }, Math.max(1, Math.floor(hbTimeout / 4)));
    };

    const onMessage = (msg: Message): void => {
      switch (msg.type) {
        case MessageType.WELCOME: {
          // Its size follows the version we asked in; anything else is a server that broke the rules.
          if ((msg.instanceId !== undefined) !== (version >= INSTANCE_ID_VERSION)) {
            return finish({ type: 'VIOLATION', message: `the server answered a version-${version} request with a ${msg.instanceId ? 'version-2' : 'version-1'} WELCOME`, fatal: true });
          }
          // §3.14: a server that gives another length than the one asked for is not to be trusted.
          if (input.sessionId === null && input.requestedLength !== 0 && msg.length !== input.requestedLength) {
            return finish({ type: 'VIOLATION', message: `the server welcomed us with ${msg.length} numbers, but we asked for ${input.requestedLength}`, fatal: true });
          }
          const problem = verifier.begin({ hi: msg.seedHi, lo: msg.seedLo }, msg.length, msg.startIndex);
          if (problem) return finish({ type: 'VIOLATION', message: problem, fatal: true });
          hbInterval = msg.heartbeatIntervalMs || hbInterval;
          hbTimeout = msg.heartbeatTimeoutMs || hbTimeout;
          startHeartbeats();
          sendBack({
            type: 'WELCOME',
            sessionId: msg.sessionId.toString('hex'),
            length: msg.length,
            startIndex: msg.startIndex,
            instanceId: msg.instanceId?.toString('hex') ?? null,
          });
          return;
        }
        case MessageType.NUMBER: {
          if (verifier.seed === null) return finish({ type: 'VIOLATION', message: 'NUMBER before WELCOME', fatal: true });
          const v = verifier.accept(msg.index, msg.value);
          if (v) return finish({ type: 'VIOLATION', message: describeViolation(v), fatal: v.kind === 'value' || v.kind === 'overrun' });
          opts.onNumber?.(msg.index, msg.value);
          return;
        }
        case MessageType.END: {
          if (verifier.seed === null) return finish({ type: 'VIOLATION', message: 'END before WELCOME', fatal: true });
          // §3.14: END names the session's length; another one is a server that broke the rules.
          if (msg.length !== verifier.length) {
            return finish({ type: 'VIOLATION', message: `END says ${msg.length} numbers, but the session has ${verifier.length}`, fatal: true });
          }
          // §3.15: numbers still missing is a gap: resume at the first one, not fatal.
          if (!verifier.complete) {
            return finish({ type: 'VIOLATION', message: `END after ${verifier.nextIndex} of ${verifier.length} numbers`, fatal: false });
          }
          const local = verifier.checksum;
          socket.end(encode({ type: MessageType.ACK, verdict: local === msg.checksum ? ACK_VERDICT_MATCH : ACK_VERDICT_MISMATCH }));
          stopTimers();
          finished = true;
          sendBack({ type: 'END', serverChecksum: msg.checksum, localChecksum: local });
          return;
        }
        case MessageType.REJECT: {
          if (msg.code === RejectCode.UNSUPPORTED_VERSION) {
            // §2.1: the server lists what it speaks; take the newest we share (older ones only,
            // so a confused server cannot make us loop). A reason with no list: step down one.
            const listed = versionsInReason(msg.reason);
            const shared = PROTOCOL_VERSIONS.filter((v) => v < version && (listed.length === 0 || listed.includes(v)));
            if (shared.length > 0) return finish({ type: 'VERSION_REFUSED', version, fallback: shared[shared.length - 1], reason: escapeText(msg.reason) });
          }
          return finish({
            type: 'REJECTED',
            code: msg.code,
            name: RejectCode[msg.code] ?? `code ${msg.code}`,
            // The reason is the peer's free text: from here on (failure, loss line, --json, log) it is inert.
            reason: escapeText(msg.reason),
            resumable: RESUMABLE_REJECTS.has(msg.code),
          });
        }
        case MessageType.HEARTBEAT:
          socket.write(encode({ type: MessageType.HEARTBEAT_ACK, nonce: msg.nonce }));
          return;
        case MessageType.HEARTBEAT_ACK:
          return;
        default:
          return finish({ type: 'VIOLATION', message: `the server sent ${MessageType[msg.type]}, which only clients send`, fatal: true });
      }
    };

    // TCP is up (before TLS, if any): a failure from here on is a lost link, not "cannot connect".
    socket.on('connect', () => {
      connected = true;
    });
    socket.on(ready, () => {
      sendBack({ type: 'CONNECTED' });
      if (input.sessionId === null) {
        socket.write(encode({ type: MessageType.HELLO, version, length: input.requestedLength }));
        return;
      }
      const sessionId = Buffer.from(input.sessionId, 'hex');
      socket.write(
        version >= INSTANCE_ID_VERSION
          ? encode({ type: MessageType.RESUME, version, sessionId, nextIndex: verifier.nextIndex, instanceId: Buffer.from(input.instanceId!, 'hex') })
          : encode({ type: MessageType.RESUME, version, sessionId, nextIndex: verifier.nextIndex }),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (finished) return;
      lastHeard = Date.now();
      const read = decoder.read(chunk);
      const bodies = read.bodies;
      let frameError: Error | null = read.error;
      try {
        for (const body of bodies) {
          onMessage(decode(body));
          if (finished) return;
        }
      } catch (err) {
        frameError = err as Error;
      }
      if (frameError) finish({ type: 'VIOLATION', message: `malformed data from the server: ${frameError.message}`, fatal: false });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const final = finalTlsFailure(err, socket, address);
      const reason = err.code ?? err.message;
      finish(final ? { type: 'FAILED', reason: final } : connected ? { type: 'LOST', reason } : { type: 'UNREACHABLE', address, reason });
    });
    socket.on('close', () => finish({ type: 'LOST', reason: 'connection closed by the server or the network' }));

    return () => {
      clearTimeout(connectTimer);
      stopTimers();
      finished = true;
      // After END the socket is ending gracefully (ACK in flight); otherwise drop it now.
      if (!socket.writableEnded) socket.destroy();
      else setTimeout(() => socket.destroy(), 1000).unref();
    };
  });
}
