import { desc } from 'drizzle-orm';
import type { Clock } from '../../infra/clock.ts';
import type { Database } from '../../infra/database.ts';
import type { OperationalLog } from '../../infra/operational-log.ts';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import type { Principal } from '../api/env.ts';
import { auditLog } from '../db/schema.ts';
import { type AuditContent, auditRowHash, GENESIS } from './chain.ts';

export type AuditAction =
  | 'region.created'
  | 'site.created'
  | 'vendor.created'
  | 'token.issued'
  | 'token.revoked'
  | 'enrollment-token.issued'
  | 'site.enrolled'
  | 'site-key.rotated'
  | 'site-key.revoked'
  | 'vendor-key.registered'
  | 'vendor-key.revoked'
  | 'model.submitted'
  | 'campaign.created'
  | 'report.queued'
  | 'report.refused'
  | 'report.accepted'
  | 'report.rejected';

/** Ids, roles, codes, hashes and times only: nothing a person typed, nothing from a report, no secret. */
export type AuditDetail = Record<string, string | number | boolean | null | string[]>;

export interface AuditEvent {
  actor: string;
  action: AuditAction;
  target: string;
  detail?: AuditDetail;
}

export interface AuditDeps {
  db: Database;
  clock: Clock;
  log: OperationalLog;
}

export const actorOf = (p: Principal) => `token:${p.tokenId}`;

const MAX_TRIES = 50;

/**
 * Appends one entry to the chain. Reading the head and inserting the next row are two statements, so two
 * writers (requests in this process, or another process on the same file) can race: the seq primary key
 * and the unique prev_hash let exactly one of them win, and the loser reads the new head and tries again.
 *
 * The entry is written after the change it records has committed. A crash between the two loses that entry
 * (the chain stays intact); the operational log also records each new head, so `cairn audit verify` can tell
 * a chain cut short from one that was never longer.
 */
export async function appendAudit(
  deps: AuditDeps,
  event: AuditEvent,
): Promise<{ seq: number; hash: string }> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const [head] = await deps.db
      .select({ seq: auditLog.seq, hash: auditLog.hash })
      .from(auditLog)
      .orderBy(desc(auditLog.seq))
      .limit(1);
    const prevHash = head?.hash ?? GENESIS;
    const at = deps.clock.now();
    const content: AuditContent = {
      seq: (head?.seq ?? 0) + 1,
      at: at.getTime(),
      actor: event.actor,
      action: event.action,
      target: event.target,
      detail: event.detail ?? {},
    };
    const hash = auditRowHash(prevHash, content);
    const [row] = await deps.db
      .insert(auditLog)
      .values({
        seq: content.seq,
        at,
        actor: content.actor,
        action: content.action,
        target: content.target,
        detail: canonicalJson(content.detail),
        prevHash,
        hash,
      })
      .onConflictDoNothing()
      .returning({ seq: auditLog.seq });
    if (row) {
      deps.log.write({
        time: at.toISOString(),
        event: 'audit',
        code: content.action,
        ref: `${content.seq}:${hash}`,
      });
      return { seq: content.seq, hash };
    }
  }
  throw new Error('audit log: could not append after repeated contention');
}
