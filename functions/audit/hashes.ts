import { createHash } from 'node:crypto';
import { canonicalJson } from '../../schemas/canonical-json.ts';

/**
 * What an audit entry records of a value it must not hold itself (a public key, a campaign's bin edges):
 * its sha256, enough for `cairn audit verify` to tell that the stored value changed later.
 */
export const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The sha256 of a JSON parameter's canonical form. */
export const parameterSha256 = (value: unknown) => sha256Hex(canonicalJson(value));
