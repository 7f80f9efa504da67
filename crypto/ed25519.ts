import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/**
 * Ed25519 keys in the forms Cairn stores and sends: a public key travels as base64 of its 32 raw bytes (what
 * sites enrol and vendors register), a private key stays as PKCS#8 (DER base64 in the agent's state, PEM in
 * a vendor's key file), a signature as base64 of its 64 bytes. Every part of the system goes through here.
 */

/** Base64 of 32 bytes: 43 characters and one `=`. */
export const RAW_PUBLIC_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export interface Ed25519KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  return generateKeyPairSync('ed25519');
}

/**
 * The raw public key, base64. Takes a public key or a private one (its public half). Node has no raw export
 * for Ed25519, but the JWK `x` member is exactly those 32 bytes.
 */
export function exportRawPublicKey(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
}

/** A public key from its wire form; null when the text is not base64 of a valid 32-byte Ed25519 key. */
export function importRawPublicKey(base64: string): KeyObject | null {
  if (!RAW_PUBLIC_KEY_BASE64.test(base64)) return null;
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

export function exportPkcs8Der(privateKey: KeyObject): string {
  return privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

export function importPkcs8Der(base64: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'pkcs8' });
}

export function exportPkcs8Pem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** A private key from a PEM file's bytes; null when it is not a private key or not an Ed25519 one. */
export function importEd25519PrivateKeyPem(pem: Buffer | string): KeyObject | null {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    return null;
  }
  return key.asymmetricKeyType === 'ed25519' ? key : null;
}

/** The signature over `data`, base64. */
export function signEd25519(data: Uint8Array, privateKey: KeyObject): string {
  return sign(null, data, privateKey).toString('base64');
}

/** Whether `signatureBase64` is `key`'s signature over `data`; a malformed signature is simply false. */
export function verifyEd25519(data: Uint8Array, publicKey: KeyObject, signatureBase64: string): boolean {
  try {
    return verify(null, data, publicKey, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}
