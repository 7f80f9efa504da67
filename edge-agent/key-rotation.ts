import { randomBytes } from 'node:crypto';
import type { CloudApi } from '../client/cloud-api.ts';
import { importPkcs8Der, signEd25519 } from '../crypto/ed25519.ts';
import {
  KeyRotationResponse,
  keyRotationSigningInput,
  type UnsignedKeyRotation,
} from '../schemas/key-rotation.ts';
import { generateSiteKeyPair } from './identity.ts';

export interface CurrentSiteKey {
  siteId: string;
  keyId: string;
  /** PKCS#8 DER, base64, as the agent state keeps it. */
  privateKeyPkcs8: string;
}

export interface RotatedSiteKey {
  keyId: string;
  publicKeyRaw: string;
  privateKeyPkcs8: string;
  retiredKeyId: string;
  rotatedAt: string;
}

/**
 * Replaces the site's signing key (`POST /v1/sites/:id/keys/rotate`): makes a new key pair here, signs the
 * request with the current key (proving it is this site asking) and with the new one (proving the agent holds
 * it), and returns the new identity for the caller to store. Only the new public key leaves the agent.
 *
 * The cloud retires the old key in the same transaction as it registers the new one; until the caller has
 * stored the result, the agent has no usable key, so the caller should persist it before anything else.
 */
export async function rotateKey(
  api: Pick<CloudApi, 'json'>,
  current: CurrentSiteKey,
  now: Date = new Date(),
  /** The new key pair; pass one already stored as pending so a lost answer cannot lose the key. */
  fresh: { publicKeyRaw: string; privateKeyPkcs8: string } = generateSiteKeyPair(),
): Promise<RotatedSiteKey> {
  const unsigned: UnsignedKeyRotation = {
    schema: 'cairn.key-rotation/v1',
    siteId: current.siteId,
    oldKeyId: current.keyId,
    newPublicKey: fresh.publicKeyRaw,
    timestamp: now.toISOString(),
    nonce: randomBytes(18).toString('base64url'),
  };
  const input = keyRotationSigningInput(unsigned);
  const body = {
    ...unsigned,
    oldKeySignature: signEd25519(input, importPkcs8Der(current.privateKeyPkcs8)),
    newKeySignature: signEd25519(input, importPkcs8Der(fresh.privateKeyPkcs8)),
  };
  const res = KeyRotationResponse.parse(
    await api.json('POST', `/v1/sites/${encodeURIComponent(current.siteId)}/keys/rotate`, { json: body }),
  );
  return {
    keyId: res.keyId,
    publicKeyRaw: fresh.publicKeyRaw,
    privateKeyPkcs8: fresh.privateKeyPkcs8,
    retiredKeyId: res.retiredKeyId,
    rotatedAt: res.rotatedAt,
  };
}
