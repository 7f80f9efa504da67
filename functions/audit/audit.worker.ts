// Test helper: one process appending to a shared cloud database (see audit.test.ts).
import { fixedClock } from '../../infra/clock.ts';
import { createMemoryLog } from '../../infra/operational-log.ts';
import { openDatabase } from '../db/database.ts';
import { regions } from '../db/schema.ts';
import { appendAudit, commitAudited } from './append.ts';

const [url, name, count] = process.argv.slice(2) as [string, string, string];
const db = await openDatabase(url);
const deps = { db, clock: fixedClock(new Date(0)), log: createMemoryLog() };
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) =>
    i % 2
      ? appendAudit(deps, { actor: 'system', action: 'report.queued', target: `${name}-${i}` })
      : commitAudited(
          deps,
          () =>
            [db.insert(regions).values({ id: `${name}-${i}`, name: 'R', createdAt: new Date(0) })] as const,
          { actor: 'system', action: 'region.created', target: `${name}-${i}` },
        ),
  ),
);
db.$client.close();
