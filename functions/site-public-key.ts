import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * A site's Ed25519 public key from its wire form: base64 of the 32 raw bytes (what the agent sends at
 * enrollment and the cloud stores). Node has no raw import for Ed25519, but the JWK `x` member is exactly
 * those bytes. Returns null when the text is not such a key.
 */
export function importSitePublicKey(base64: string): KeyObject | null {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(base64)) return null;
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) return null;
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}
