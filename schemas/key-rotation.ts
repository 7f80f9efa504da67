import { z } from 'zod';
import { canonicalJsonBytes } from './canonical-json.ts';
import { Id, Slug } from './common.ts';
import { Ed25519PublicKey } from './model-signature.ts';

/**
 * A site's request to replace its signing key (`POST /v1/sites/:id/keys/rotate`). The OLD key signs the
 * canonical JSON of every field but the signatures — proving the request comes from whoever holds the key
 * being retired — and the NEW key signs the same bytes, proving the agent holds the private half of the key
 * it registers. Timestamp and nonce bound it in time and make it single-use, as for envelopes.
 */
export const KeyRotationRequest = z
  .object({
    schema: z.literal('cairn.key-rotation/v1'),
    siteId: Slug,
    oldKeyId: Id,
    newPublicKey: Ed25519PublicKey,
    timestamp: z.string().datetime(),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'base64url, at least 16 random bytes'),
    oldKeySignature: z.string().base64().max(200),
    newKeySignature: z.string().base64().max(200),
  })
  .strict();
export type KeyRotationRequest = z.infer<typeof KeyRotationRequest>;

export type UnsignedKeyRotation = Omit<KeyRotationRequest, 'oldKeySignature' | 'newKeySignature'>;

export function keyRotationSigningInput(r: UnsignedKeyRotation): Uint8Array {
  const { schema, siteId, oldKeyId, newPublicKey, timestamp, nonce } = r;
  return canonicalJsonBytes({ schema, siteId, oldKeyId, newPublicKey, timestamp, nonce });
}

export const KeyRotationResponse = z
  .object({ siteId: Slug, keyId: Id, retiredKeyId: Id, rotatedAt: z.string().datetime() })
  .strict();
export type KeyRotationResponse = z.infer<typeof KeyRotationResponse>;
