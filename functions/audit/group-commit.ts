import type { BatchItem } from 'drizzle-orm/batch';
import type { Database } from '../db/database.ts';
import { type AuditDeps, type AuditEvent, commitAudited, commitAuditedAll } from './append.ts';

type Change = () => readonly [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]];

interface Waiting {
  change: Change;
  event: AuditEvent;
  done(err?: unknown): void;
}

/** More would hold the thread for one long transaction while requests wait. */
const MAX_GROUP = 100;

/** Per database, the changes waiting for the next group's commit. */
const forming = new WeakMap<Database, Waiting[]>();

/**
 * `commitAudited` for changes that many requests make at once (a report put on the queue): the changes that
 * arrive while one group commits go together in the next, one transaction and one commit for all of them,
 * each followed by its entry. Each change must fail rather than be a no-op (see commitAuditedAll). When the
 * group's transaction fails (one change met a row another request took), nothing of it is kept and each
 * change commits on its own, so each caller hears its own answer.
 */
export function commitAuditedInGroup(deps: AuditDeps, change: Change, event: AuditEvent): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let group = forming.get(deps.db);
    if (!group || group.length >= MAX_GROUP) {
      const next: Waiting[] = [];
      group = next;
      forming.set(deps.db, next);
      setImmediate(() => void commitGroup(deps, next));
    }
    group.push({ change, event, done: (err) => (err === undefined ? resolve() : reject(err)) });
  });
}

async function commitGroup(deps: AuditDeps, group: Waiting[]): Promise<void> {
  if (forming.get(deps.db) === group) forming.delete(deps.db);
  if (group.length > 1) {
    try {
      await commitAuditedAll(
        deps,
        group.map((w) => ({ change: w.change(), event: w.event })),
      );
      for (const w of group) w.done();
      return;
    } catch {
      // Each change on its own below says which one failed, and why.
    }
  }
  await Promise.all(
    group.map((w) =>
      commitAudited(deps, w.change, w.event).then(
        () => w.done(),
        (err: unknown) => w.done(err ?? new Error('commit failed')),
      ),
    ),
  );
}
