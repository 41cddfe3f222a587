/**
 * docs/PROTOCOL.md is the specification: its test vectors are read from the document itself
 * and checked against the code, so the two cannot drift apart silently.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mix32, sequenceChecksum, valueAt } from '../core/sequence';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { MessageType, PROTOCOL_VERSIONS, RejectCode, RESUMABLE_REJECTS } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';

const spec = readFileSync(path.join(__dirname, '..', 'docs', 'PROTOCOL.md'), 'utf8');

/** Rows of the first table after `heading`, as arrays of trimmed cells without backticks. */
function table(heading: string): string[][] {
  const start = spec.indexOf(heading);
  if (start < 0) throw new Error(`PROTOCOL.md has no "${heading}"`);
  const lines = spec.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.split('|').slice(1, -1).map((c) => c.trim().replace(/`/g, '')));
  }
  if (rows.length === 0) throw new Error(`no rows under "${heading}"`);
  return rows;
}

const num = (s: string) => Number(s);

describe('docs/PROTOCOL.md test vectors', () => {
  it('mix32', () => {
    for (const [x, y] of table('### mix32')) expect(mix32(num(x))).toBe(num(y));
  });

  it('value(seed, i)', () => {
    const rows = table('### value(seed, i)');
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const [hi, lo, i, v] of rows) expect(valueAt({ hi: num(hi), lo: num(lo) }, num(i))).toBe(num(v));
  });

  it('checksums', () => {
    for (const [hi, lo, n, c] of table('### checksum of value')) expect(sequenceChecksum({ hi: num(hi), lo: num(lo) }, num(n))).toBe(num(c));
  });

  it('frames: the code encodes each message to exactly the documented bytes, and decodes them back', () => {
    const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const seed = { hi: 0x01234567, lo: 0x89abcdef };
    const instanceId = Buffer.from('a1b2c3d4e5f60718', 'hex');
    const welcome = { type: MessageType.WELCOME, sessionId: id, seedHi: seed.hi, seedLo: seed.lo, length: 10, startIndex: 0, intervalMs: 1000, heartbeatIntervalMs: 2000, heartbeatTimeoutMs: 6000 } as const;
    const messages: Message[] = [
      { type: MessageType.HELLO, version: 1, length: 10 },
      { type: MessageType.HELLO, version: 1, length: 0 },
      { type: MessageType.HELLO, version: 2, length: 10 },
      { type: MessageType.RESUME, version: 1, sessionId: id, nextIndex: 42 },
      { type: MessageType.RESUME, version: 2, sessionId: id, nextIndex: 42, instanceId },
      welcome,
      { ...welcome, instanceId },
      { type: MessageType.NUMBER, index: 3, value: valueAt(seed, 3) },
      { type: MessageType.END, length: 10, checksum: sequenceChecksum(seed, 10) },
      { type: MessageType.HEARTBEAT, nonce: 7 },
      { type: MessageType.HEARTBEAT_ACK, nonce: 7 },
      { type: MessageType.REJECT, code: RejectCode.SESSION_EXPIRED, reason: 'session expired' },
      { type: MessageType.ACK, verdict: 0 },
    ];
    const rows = table('### Frames');
    expect(rows).toHaveLength(messages.length);
    rows.forEach(([, hex], k) => {
      const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
      expect(encode(messages[k]).toString('hex')).toBe(bytes.toString('hex'));
      const [body] = new FrameDecoder().push(bytes);
      expect(decode(body)).toEqual(messages[k]);
    });
  });

  it('message table: every documented type and body size matches the codec, per version', () => {
    const sizes: Record<string, number[]> = {};
    for (const [type, name, , size] of table('| type | name |')) {
      expect(MessageType[num(type)]).toBe(name);
      // "22 (version 1), 30 (version 2)": one size per version, in order; a single size is every version's.
      if (name !== 'REJECT') sizes[name] = (size.replace(/\([^)]*\)/g, '').match(/\d+/g) ?? []).map(num);
    }
    for (const [name, documented] of Object.entries(sizes)) {
      const type = MessageType[name as keyof typeof MessageType];
      PROTOCOL_VERSIONS.forEach((version, k) => {
        const size = documented[Math.min(k, documented.length - 1)];
        const body = Buffer.alloc(size);
        body[0] = type;
        if (type === MessageType.HELLO || type === MessageType.RESUME) body[1] = version;
        expect(() => decode(body)).not.toThrow();
        expect(() => decode(Buffer.concat([body, Buffer.alloc(1)]))).toThrow(/must be/);
      });
    }
  });

  it('reject code table matches the code, including which codes allow a resume', () => {
    const rows = table('### 2.2 Reject codes');
    expect(rows).toHaveLength(Object.keys(RejectCode).length / 2);
    for (const [code, name, , resumable] of rows) {
      expect(RejectCode[num(code)]).toBe(name);
      expect(RESUMABLE_REJECTS.has(num(code))).toBe(resumable.includes('yes'));
    }
  });

  it('the Python reference implementation in the spec agrees with the vectors', () => {
    const python = /```python\n([\s\S]*?)```/.exec(spec)?.[1];
    expect(python).toBeDefined();
    const out = execFileSync('python3', ['-c', python!], { encoding: 'utf8' });
    expect(out.trim()).toBe('python reference agrees');
  });
});
