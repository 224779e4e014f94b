/**
 * Test support: real X.509 material made with the `openssl` command into a temporary directory —
 * a CA, a server certificate for 127.0.0.1, localhost and node.tendril.test (subjectAltName) signed by it, a client
 * certificate signed by it, and a second, unrelated CA with its own client certificate. EC P-256
 * keys keep it fast; everything is valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCerts {
  readonly dir: string;
  readonly ca: Pem;
  readonly server: Pem;
  /** Signed by `ca`. */
  readonly client: Pem;
  /** A CA nobody configured, and a client certificate it signed. */
  readonly otherCa: Pem;
  readonly otherClient: Pem;
  remove(): void;
}

/** True when the `openssl` command can be run. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function pem(dir: string, name: string): Pem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

function makeCa(dir: string, name: string, cn: string): Pem {
  openssl(dir, [
    'req', '-x509', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pem(dir, name);
}

function makeLeaf(dir: string, name: string, cn: string, ca: string, extensions: string): Pem {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`,
  ]);
  return pem(dir, name);
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'tendril-certs-'));
  const ca = makeCa(dir, 'ca', 'Tendril Test CA');
  const server = makeLeaf(dir, 'server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:node.tendril.test\nextendedKeyUsage=serverAuth\n');
  const client = makeLeaf(dir, 'client', 'test client', 'ca', 'extendedKeyUsage=clientAuth\n');
  const otherCa = makeCa(dir, 'other-ca', 'Some Other CA');
  const otherClient = makeLeaf(dir, 'other-client', 'stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  return { dir, ca, server, client, otherCa, otherClient, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
