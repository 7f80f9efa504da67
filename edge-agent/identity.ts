import { randomBytes } from 'node:crypto';
import {
  exportPkcs8Der,
  exportRawPublicKey,
  generateEd25519KeyPair,
  importPkcs8Der,
  signEd25519,
} from '../crypto/ed25519.ts';
import { canonicalJsonBytes } from '../schemas/canonical-json.ts';
import { type Envelope, envelopeSigningInput } from '../schemas/envelope.ts';
import type { SiteReport } from '../schemas/site-report.ts';

/** A fresh Ed25519 key pair for a site: the raw public key goes to the cloud, the private key stays here. */
export function generateSiteKeyPair(): { publicKeyRaw: string; privateKeyPkcs8: string } {
  const { publicKey, privateKey } = generateEd25519KeyPair();
  return { publicKeyRaw: exportRawPublicKey(publicKey), privateKeyPkcs8: exportPkcs8Der(privateKey) };
}

export interface Signer {
  siteId: string;
  keyId: string;
  privateKeyPkcs8: string;
}

/** Wraps a report's canonical JSON bytes in a signed envelope (schemas/envelope.ts). */
export function signReport(report: SiteReport, signer: Signer, now: Date = new Date()): Envelope {
  const unsigned = {
    schema: 'cairn.envelope/v1' as const,
    siteId: signer.siteId,
    keyId: signer.keyId,
    timestamp: now.toISOString(),
    nonce: randomBytes(18).toString('base64url'),
    payload: Buffer.from(canonicalJsonBytes(report)).toString('base64'),
  };
  const signature = signEd25519(envelopeSigningInput(unsigned), importPkcs8Der(signer.privateKeyPkcs8));
  return { ...unsigned, signature };
}
