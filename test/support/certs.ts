import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as PEM files and text; `fingerprint` is its SHA-256 (64 hex). */
export interface Issued {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** A test CA made with Debian's openssl, issuing EC certificates for the names asked. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-certs-'));
  readonly ca: Issued;
  private serial = 1;

  constructor() {
    this.ca = this.selfSigned('Test CA', true);
  }

  /** A certificate for these names (DNS names, or IPs), signed by the CA. */
  issue(name: string, altNames: string[]): Issued {
    const base = join(this.dir, `${name}-${this.serial}`);
    this.openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`]);
    this.openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=${name}`, '-out', `${base}.csr`]);
    const san = altNames.map((alt) => (/^[\d.]+$/.test(alt) ? `IP:${alt}` : `DNS:${alt}`)).join(',');
    writeFileSync(`${base}.ext`, `subjectAltName=${san}\n`);
    this.openssl([
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      this.ca.certPath,
      '-CAkey',
      this.ca.keyPath,
      '-set_serial',
      String(++this.serial),
      '-days',
      '2',
      '-extfile',
      `${base}.ext`,
      '-out',
      `${base}.pem`,
    ]);
    return this.read(base);
  }

  /** A self-signed certificate (a pool that has no CA-signed one: pinned by fingerprint). */
  selfSigned(name: string, ca = false): Issued {
    const base = join(this.dir, `${name.replace(/\W/g, '_')}-self-${this.serial++}`);
    this.openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      ...(ca ? ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign,cRLSign'] : []),
    ]);
    return this.read(base);
  }

  private read(base: string): Issued {
    const cert = readFileSync(`${base}.pem`, 'utf8');
    return {
      certPath: `${base}.pem`,
      keyPath: `${base}.key`,
      cert,
      key: readFileSync(`${base}.key`, 'utf8'),
      fingerprint: new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase(),
    };
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: 'ignore' });
  }
}
