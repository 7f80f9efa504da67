import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Id, Slug } from './common.ts';

/**
 * The envelope (`cairn.envelope/v1`) carries one site report from an agent to the cloud: the report's
 * canonical JSON bytes (base64), who signed it, when, a single-use nonce, and an Ed25519 signature over
 * `envelopeSigningInput()`. The cloud verifies the signature before it parses the payload.
 */
export const Envelope = z
  .object({
    schema: z.literal('cairn.envelope/v1'),
    siteId: Slug,
    keyId: Id,
    /** ISO 8601 UTC time of signing; the cloud accepts a bounded clock skew. */
    timestamp: z.string().datetime(),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'base64url, at least 16 random bytes'),
    payload: z
      .string()
      .base64()
      .max(4 * 1024 * 1024),
    signature: z.string().base64(),
  })
  .strict();
export type Envelope = z.infer<typeof Envelope>;

/** The exact bytes that are signed: every envelope field except the signature, payload by its sha256. */
export function envelopeSigningInput(e: Omit<Envelope, 'signature'>): Uint8Array {
  const payloadSha256 = createHash('sha256').update(Buffer.from(e.payload, 'base64')).digest('hex');
  return new TextEncoder().encode(
    [e.schema, e.siteId, e.keyId, e.timestamp, e.nonce, payloadSha256].join('\n'),
  );
}
