/**
 * The suite's two outputs: a table on the terminal, a row per case as it finishes, and a JSON
 * report for machines. Details quote what the implementation under test sent (a REJECT reason,
 * say), so they are escaped before they reach a terminal.
 */
import { writeFileSync } from 'node:fs';
import type { CaseResult } from './case';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

export interface Report {
  mode: 'server' | 'client';
  /** HOST:PORT in server mode, the command line in client mode. */
  target: string;
  startedAt: string;
  summary: Summary;
  cases: CaseResult[];
}

/** Characters a terminal acts on or that reorder text: spelled out, so a verdict cannot be overwritten. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeForTerminal(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function verdictOf(r: CaseResult): 'pass' | 'FAIL' | 'skip' {
  if (!r.pass) return 'FAIL';
  return r.skipped ? 'skip' : 'pass';
}

export function summarize(results: readonly CaseResult[]): Summary {
  const failed = results.filter((r) => !r.pass).length;
  const skipped = results.filter((r) => r.pass && r.skipped).length;
  return { passed: results.length - failed - skipped, failed, skipped, total: results.length };
}

/** Formats table rows for cases whose ids are at most `idWidth` wide. */
export class Table {
  constructor(private readonly idWidth: number, private readonly ruleWidth: number) {}

  header(): string {
    return `${'id'.padEnd(this.idWidth)}  ${'rule'.padEnd(this.ruleWidth)}  verdict  ${'ms'.padStart(6)}  what it checks`;
  }

  /** One line per case; a failure (or a skip) says why on the next, indented. */
  row(r: CaseResult): string {
    const line = `${r.id.padEnd(this.idWidth)}  ${r.rule.padEnd(this.ruleWidth)}  ${verdictOf(r).padEnd(7)}  ${String(r.ms).padStart(6)}  ${r.title}`;
    const why = !r.pass || r.skipped ? r.detail : '';
    return why ? `${line}\n${' '.repeat(this.idWidth + 2)}-> ${escapeForTerminal(why)}` : line;
  }
}

export function summaryLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`;
}

export function writeReport(file: string, report: Report): void {
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
