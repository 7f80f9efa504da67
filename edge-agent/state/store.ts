import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import * as schema from './schema.ts';

export type AgentDb = LibSQLDatabase<typeof schema>;

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));

/** Opens (creating and migrating if needed) the agent's state database in `stateDir`. */
export async function openAgentState(stateDir: string): Promise<{ db: AgentDb; close(): void }> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'agent.db');
  const fresh = !existsSync(file);
  // timeout: `agent status` may read while `agent run` writes; without it libSQL fails at once with BUSY.
  const client = createClient({ url: `file:${file}`, timeout: 5000 });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  if (fresh) {
    await client.execute('PRAGMA journal_mode=WAL');
    // The file holds the site's private key.
    chmodSync(file, 0o600);
  }
  return { db, close: () => client.close() };
}
