import { createHash } from 'node:crypto';
import { canonicalJson } from '../../schemas/canonical-json.ts';

/**
 * The audit chain's arithmetic, shared by the writer (append.ts) and `cairn audit verify`. A row's hash is
 * sha256(prevHash + canonical JSON of its content); the first row's prevHash is GENESIS. Changing any field
 * of a row changes its hash, which no longer matches the next row's prevHash; deleting a row leaves a gap in
 * `seq` and a prevHash that names a hash no row has.
 */
export const GENESIS = '0'.repeat(64);

export interface AuditContent {
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

export function auditRowHash(prevHash: string, content: AuditContent): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(content), 'utf8').digest('hex');
}

/** A row as stored: detail is the canonical JSON text. */
export interface StoredAuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
  prevHash: string;
  hash: string;
}

export type ChainCheck =
  | { ok: true; entries: number; head: { seq: number; hash: string } | null }
  | { ok: false; entries: number; brokenAt: number; reason: string };

/** Walks rows in seq order and names the first link that does not hold. */
export function verifyAuditChain(rows: StoredAuditRow[]): ChainCheck {
  let prev = GENESIS;
  let expectedSeq = 1;
  for (const row of rows) {
    const broken = (reason: string): ChainCheck => ({
      ok: false,
      entries: rows.length,
      brokenAt: row.seq,
      reason,
    });
    if (row.seq !== expectedSeq)
      return broken(`entry #${expectedSeq} is missing (the next entry is #${row.seq})`);
    if (row.prevHash !== prev) return broken('its previous-hash does not match the entry before it');
    let detail: Record<string, unknown>;
    try {
      detail = JSON.parse(row.detail) as Record<string, unknown>;
    } catch {
      return broken('its detail is not JSON');
    }
    const content: AuditContent = {
      seq: row.seq,
      at: row.at,
      actor: row.actor,
      action: row.action,
      target: row.target,
      detail,
    };
    if (auditRowHash(row.prevHash, content) !== row.hash)
      return broken('its content does not match its hash (the row was changed)');
    prev = row.hash;
    expectedSeq++;
  }
  const last = rows.at(-1);
  return { ok: true, entries: rows.length, head: last ? { seq: last.seq, hash: last.hash } : null };
}
