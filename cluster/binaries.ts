/**
 * The Debian programs the shared-store set-up runs (redis-server, haproxy): found on PATH or in
 * Debian's directories, or a clear error naming the script that installs them.
 */
import fs from 'node:fs';
import path from 'node:path';

export const INSTALL_HINT = "run `sh scripts/install-services.sh` (installs Debian's redis-server and haproxy)";

export function findBinary(name: string, dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin']): string {
  for (const dir of dirs) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not installed: ${INSTALL_HINT}`);
}
