import { desc, type SQL, sql } from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { Clock } from '../../infra/clock.ts';
import type { OperationalLog } from '../../infra/operational-log.ts';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import type { Principal } from '../api/env.ts';
import type { Database } from '../db/database.ts';
import { preparedPerDatabase } from '../db/prepared.ts';
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
  | 'campaign.rerun'
  | 'campaign.criteria-added'
  | 'report.queued'
  | 'report.refused'
  | 'report.accepted'
  | 'report.rejected'
  | 'report.voided'
  | 'rollout.changed';

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
 * The tail of each database's queue of audit writes in this process. Writers in one process take turns:
 * racing each other, every round of retries had one winner, so more concurrent writers than MAX_TRIES meant
 * some gave up (and a report already queued lost its entry). Only another process can still take the head.
 */
const auditTurns = new WeakMap<Database, Promise<unknown>>();

function inTurn<R>(db: Database, work: () => Promise<R>): Promise<R> {
  const run = (auditTurns.get(db) ?? Promise.resolve()).then(work, work);
  auditTurns.set(
    db,
    run.catch(() => undefined),
  );
  return run;
}

/** Before trying again after losing the head to another process: a short, random wait, so they fall out of step. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));

/** One audit row ready to insert: the head it extends, its content, and the hash that results. */
interface NextEntry {
  content: AuditContent;
  prevHash: string;
  hash: string;
  at: Date;
}

const headQuery = preparedPerDatabase((db) =>
  db
    .select({ seq: auditLog.seq, hash: auditLog.hash })
    .from(auditLog)
    .orderBy(desc(auditLog.seq))
    .limit(1)
    .prepare(),
);

async function readHead(deps: AuditDeps): Promise<{ seq: number; hash: string } | undefined> {
  const [head] = await headQuery(deps.db).execute();
  return head;
}

async function nextEntry(deps: AuditDeps, event: AuditEvent): Promise<NextEntry> {
  return entryAfter(await readHead(deps), event, deps.clock.now());
}

function entryAfter(head: { seq: number; hash: string } | undefined, event: AuditEvent, at: Date): NextEntry {
  const prevHash = head?.hash ?? GENESIS;
  const content: AuditContent = {
    seq: (head?.seq ?? 0) + 1,
    at: at.getTime(),
    actor: event.actor,
    action: event.action,
    target: event.target,
    detail: event.detail ?? {},
  };
  return { content, prevHash, hash: auditRowHash(prevHash, content), at };
}

function logHead(deps: AuditDeps, entry: NextEntry): { seq: number; hash: string } {
  try {
    deps.log.write({
      time: entry.at.toISOString(),
      event: 'audit',
      code: entry.content.action,
      ref: `${entry.content.seq}:${entry.hash}`,
    });
  } catch {
    // The change and its entry are committed: failing the request now (a full disk under the log, say) would
    // tell the caller it did not happen — an enrollment would spend its token and hand out no API token. The
    // head is a cross-check for `cairn audit verify`; a later head covers this one.
  }
  return { seq: entry.content.seq, hash: entry.hash };
}

/** Another writer took this place in the chain first (seq primary key or prev_hash unique). */
function lostChainRace(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed: audit_log\.(seq|prev_hash)/.test(e.message)) return true;
  }
  return false;
}

/**
 * Appends one entry to the chain, on its own, after the fact. For an event that is not a single batch of
 * statements — a refusal, a message put on a queue that may be SQS, the first admin token (tied to a file); a
 * database change is recorded with `commitAudited`, in its own transaction.
 *
 * Reading the head and inserting the next row are two statements. Writers in this process take turns; another
 * process on the same database can still race: the seq primary key and the unique prev_hash let exactly one
 * of them win, and the loser waits a little, reads the new head and tries again. The operational log also
 * records each new head, so `cairn audit verify` can tell a chain cut short from one that was never longer.
 */
export async function appendAudit(
  deps: AuditDeps,
  event: AuditEvent,
): Promise<{ seq: number; hash: string }> {
  const { head } = await inTurn(deps.db, () => appendNow(deps, event, () => [], sql`1`));
  if (!head) throw new Error('audit log: the entry was not written');
  return head;
}

/**
 * Runs a change and the audit entry that records it as one transaction (one batch), so a crash can neither
 * leave a committed change unrecorded nor record a change that was rolled back.
 *
 * The entry is inserted only if the batch's last statement changed a row (SQLite's `changes()`), or where
 * `when` holds if given: a change that turned out to be a no-op — an insert that met an existing row, an
 * update that matched nothing — leaves no entry, and `audited` says so. The head is read before the batch; if
 * another writer extends the chain meanwhile, the unique seq / prev_hash fail the whole batch, nothing of it
 * is kept, and it runs again on the new head. The change's statements must therefore decide from the
 * database, not from values read earlier.
 */
export async function commitAudited<T extends readonly [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]>(
  deps: AuditDeps,
  change: () => T,
  event: AuditEvent,
  opts: { when?: SQL } = {},
): Promise<{ results: BatchResponse<T>; audited: boolean }> {
  const { results, head } = await inTurn(deps.db, () =>
    appendNow(deps, event, change, opts.when ?? sql`changes() > 0`),
  );
  return { results: results as BatchResponse<T>, audited: head !== null };
}

/**
 * One batch: the change's statements, then the entry where `when` holds. Retried on a new head when another
 * process took this place in the chain first. `head` is null when `when` did not hold.
 */
async function appendNow(
  deps: AuditDeps,
  event: AuditEvent,
  change: () => readonly BatchItem<'sqlite'>[],
  when: SQL,
): Promise<{ results: unknown[]; head: { seq: number; hash: string } | null }> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const entry = await nextEntry(deps, event);
    const r = rowOf(entry);
    const insertWhen = deps.db.run(sql`
      insert into ${auditLog} (seq, at, actor, action, target, detail, prev_hash, hash)
      select ${r.seq}, ${r.at.getTime()}, ${r.actor}, ${r.action}, ${r.target}, ${r.detail}, ${r.prevHash}, ${r.hash}
      where ${when}`);
    let all: unknown[];
    try {
      // The tuple type drizzle wants cannot be spelled for a list built at run time.
      all = await deps.db.batch([...change(), insertWhen] as unknown as [BatchItem<'sqlite'>]);
    } catch (err) {
      if (lostChainRace(err)) continue;
      throw err;
    }
    const written = (all[all.length - 1] as { rowsAffected: number }).rowsAffected === 1;
    return { results: all.slice(0, -1), head: written ? logHead(deps, entry) : null };
  }
  throw new Error('audit log: could not append after repeated contention');
}

/** A change and the entry that records it, for `commitAuditedAll`. */
export interface AuditedChange {
  change: readonly BatchItem<'sqlite'>[];
  event: AuditEvent;
}

/**
 * Commits several changes, each followed by the entry that records it, and `extra` statements as one
 * transaction: one commit (one fsync) for all of them, where `commitAudited` would take one each. Every entry
 * is written, so each change must fail rather than turn out a no-op (a plain insert that meets its row fails);
 * a failure keeps nothing of the transaction, and the caller then commits the changes one by one.
 */
export async function commitAuditedAll(
  deps: AuditDeps,
  changes: readonly AuditedChange[],
  extra: readonly BatchItem<'sqlite'>[] = [],
): Promise<void> {
  if (changes.length === 0) return;
  await inTurn(deps.db, async () => {
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const at = deps.clock.now();
      let head = await readHead(deps);
      const statements: BatchItem<'sqlite'>[] = [];
      let last: NextEntry | undefined;
      for (const { change, event } of changes) {
        last = entryAfter(head, event, at);
        statements.push(...change, deps.db.insert(auditLog).values(rowOf(last)));
        head = { seq: last.content.seq, hash: last.hash };
      }
      try {
        await deps.db.batch([...statements, ...extra] as unknown as [BatchItem<'sqlite'>]);
      } catch (err) {
        if (lostChainRace(err)) continue;
        throw err;
      }
      // The last head covers the ones before it (see logHead).
      if (last) logHead(deps, last);
      return;
    }
    throw new Error('audit log: could not append after repeated contention');
  });
}

function rowOf(entry: NextEntry) {
  return {
    seq: entry.content.seq,
    at: entry.at,
    actor: entry.content.actor,
    action: entry.content.action,
    target: entry.content.target,
    detail: canonicalJson(entry.content.detail),
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}
