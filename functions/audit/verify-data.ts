import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { UserError } from '../../client/errors.ts';
import { newestAuditHead } from '../../infra/operational-log.ts';
import * as schema from '../db/schema.ts';
import { type ChainCheck, type StoredAuditRow, verifyAuditChain } from './chain.ts';
import { checkStateAgainstChain, type Disagreement, type StateChecked } from './check-state.ts';
import { replayAuditChain } from './replay-state.ts';

/** The chain's own check, and every way the tables disagree with what the chain records (ok only if none). */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The chain's newest entry, when the chain holds. */
  head: { seq: number; hash: string } | null;
  /** The first broken link, when the chain does not hold. */
  brokenAt?: number;
  reason?: string;
  /** How many rows of each kind were compared with the chain. */
  checked: StateChecked;
  disagreements: Disagreement[];
}

/**
 * Verifies the cloud in `<dataDir>/cairn.db`, read-only (no migration, no writes): recomputes the audit
 * chain, cross-checks the newest head the operational log (`logs/cloud.log` and its rotated files) saw (a
 * chain that verifies but ends before that head was cut short), then replays the chain's records of the
 * security state and compares them with the tables, and re-verifies every stored report against the envelope
 * its site signed (functions/audit/check-state.ts).
 */
export async function verifyAuditData(dataDir: string): Promise<AuditVerification> {
  const dbPath = join(dataDir, 'cairn.db');
  if (!existsSync(dbPath)) throw new UserError(`no cloud database at ${dbPath}`);
  const client = createClient({ url: `file:${dbPath}` });
  let rows: StoredAuditRow[];
  let state: Awaited<ReturnType<typeof checkStateAgainstChain>>;
  try {
    const result = await client.execute(
      'SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq',
    );
    rows = result.rows.map((r) => ({
      seq: Number(r.seq),
      at: Number(r.at),
      actor: String(r.actor),
      action: String(r.action),
      target: String(r.target),
      detail: String(r.detail),
      prevHash: String(r.prev_hash),
      hash: String(r.hash),
    }));
  } catch {
    client.close();
    throw new UserError(`${dbPath} has no audit log (is it a Cairn cloud database?)`);
  }
  try {
    state = await checkStateAgainstChain(drizzle({ client, schema }), replayAuditChain(rows));
  } finally {
    client.close();
  }
  const chain = chainAndLogCheck(rows, dataDir);
  return {
    ok: chain.ok && state.disagreements.length === 0,
    entries: chain.entries,
    head: chain.ok ? chain.head : null,
    ...(chain.ok ? {} : { brokenAt: chain.brokenAt, reason: chain.reason }),
    ...state,
  };
}

function chainAndLogCheck(rows: StoredAuditRow[], dataDir: string): ChainCheck {
  const check = verifyAuditChain(rows);
  if (!check.ok) return check;
  const logged = newestLoggedHead(join(dataDir, 'logs'));
  if (logged) {
    const row = rows.find((r) => r.seq === logged.seq);
    if (!row)
      return {
        ok: false,
        entries: rows.length,
        brokenAt: logged.seq,
        reason: `the operational log saw entry #${logged.seq}, which the database no longer has (entries were removed from the end)`,
      };
    if (row.hash !== logged.hash)
      return {
        ok: false,
        entries: rows.length,
        brokenAt: logged.seq,
        reason: 'its hash differs from the one the operational log recorded when it was written',
      };
  }
  return check;
}

/** The newest audit head in `cloud.log` and its rotated files (`cloud.log.1`, …). */
function newestLoggedHead(logDir: string): { seq: number; hash: string } | null {
  if (!existsSync(logDir)) return null;
  let newest: { seq: number; hash: string } | null = null;
  for (const name of readdirSync(logDir).filter((n) => /^cloud\.log(\.\d+)?$/.test(n))) {
    const head = newestAuditHead(join(logDir, name));
    if (head && (!newest || head.seq > newest.seq)) newest = { seq: head.seq, hash: head.hash };
  }
  return newest;
}
