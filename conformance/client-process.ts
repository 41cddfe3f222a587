/**
 * The client under test as a process: the command line with '{PORT}' filled in, its own
 * process group (so a wrapper script and what it starts are killed together), the tail of its
 * output kept for a failure's detail, and its exit status.
 */
import { spawn } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all. */
  error?: string;
}

/** Output kept per stream: enough for the last lines of a failure message. */
const TAIL_BYTES = 4096;

export class ClientProcess {
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;
  private out = '';
  private readonly pid: number | undefined;

  constructor(command: readonly string[], port: number) {
    const argv = command.map((a) => a.split('{PORT}').join(String(port)));
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.pid = child.pid;
    const keep = (b: Buffer) => {
      this.out = (this.out + b.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.exit ??= { code: null, signal: null, error: `cannot run ${argv[0]}: ${err.message}` };
        resolve(this.exit);
      });
      child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** The last lines it printed (stdout and stderr together). */
  get output(): string {
    return this.out.trim().split('\n').slice(-6).join(' | ');
  }

  /** Kills its whole process group, if still running. */
  kill(): void {
    if (this.exit || this.pid === undefined) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
