/**
 * A throw-away PKI for the TLS tests, made with the openssl CLI in a temp dir at run time (no
 * private key is ever committed): a CA, a server certificate for 127.0.0.1 and localhost, a
 * client certificate, and a second, unrelated CA with a client certificate of its own (what an
 * attacker or a misconfiguration would present).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Pki {
  dir: string;
  /** Paths of the PEM files, for the programs' flags. */
  files: Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'rogueCa' | 'rogueClientCert' | 'rogueClientKey', string>;
  read(name: keyof Pki['files']): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    // Fail loudly, never skip: these tests are the only proof that TLS works.
    if (e.code === 'ENOENT') throw new Error('the TLS tests need the openssl command (Debian: apt-get install openssl)');
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(cwd: string, name: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=seqstream test ${name}`], cwd);
}

function makeLeaf(cwd: string, name: string, ca: string, cn: string, ext: string): void {
  writeFileSync(path.join(cwd, `${name}.ext`), ext);
  openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], cwd);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], cwd);
}

export function makePki(): Pki {
  const dir = mkdtempSync(path.join(tmpdir(), 'seqstream-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue');
  makeLeaf(dir, 'server', 'ca', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeLeaf(dir, 'client', 'ca', 'seqstream test client', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'rogueClient', 'rogue', 'seqstream rogue client', 'extendedKeyUsage=clientAuth\n');
  const files = {
    ca: 'ca.pem',
    serverCert: 'server.pem',
    serverKey: 'server.key',
    clientCert: 'client.pem',
    clientKey: 'client.key',
    rogueCa: 'rogue.pem',
    rogueClientCert: 'rogueClient.pem',
    rogueClientKey: 'rogueClient.key',
  };
  const full = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, path.join(dir, f)])) as Pki['files'];
  return {
    dir,
    files: full,
    read: (name) => readFileSync(full[name]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
