import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { canonicalJsonBytes } from '../schemas/canonical-json.ts';
import { type Envelope, envelopeSigningInput } from '../schemas/envelope.ts';
import type { SiteReport } from '../schemas/site-report.ts';

/** A fresh Ed25519 key pair for a site: the raw public key goes to the cloud, the private key stays here. */
export function generateSiteKeyPair(): { publicKeyRaw: string; privateKeyPkcs8: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The JWK "x" member is exactly the 32-byte raw public key.
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    publicKeyRaw: Buffer.from(jwk.x as string, 'base64url').toString('base64'),
    privateKeyPkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
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
  const key = createPrivateKey({
    key: Buffer.from(signer.privateKeyPkcs8, 'base64'),
    format: 'der',
    type: 'pkcs8',
  });
  const signature = sign(null, envelopeSigningInput(unsigned), key).toString('base64');
  return { ...unsigned, signature };
}
