// A preload for `cairn cloud serve` in the crash tests: `node --import ./test/crash/kill-after-statement.mjs`.
// It counts the database calls (one execute, or one batch: a transaction) from the first one that reads or
// writes the envelope nonces (the report path's first), and SIGKILLs the process right after the Nth has
// returned — committed, its answer not yet used — when CAIRN_KILL_AFTER_STATEMENT=N. CAIRN_STATEMENT_LOG
// names a file that gets one line per counted call, so a test can learn how many the path has.
import { appendFileSync } from 'node:fs';
import { Sqlite3Client } from '@libsql/client/sqlite3';

const killAfter = Number(process.env.CAIRN_KILL_AFTER_STATEMENT ?? 0);
const logFile = process.env.CAIRN_STATEMENT_LOG;
let counting = false;
let count = 0;

const sqlOf = (stmt) => (typeof stmt === 'string' ? stmt : (stmt?.sql ?? ''));

function counted(kind, sql) {
  if (!counting && !/"nonces"/.test(sql)) return;
  counting = true;
  count++;
  if (logFile) appendFileSync(logFile, `${count} ${kind} ${sql.replace(/\s+/g, ' ').slice(0, 80)}\n`);
  if (count === killAfter) process.kill(process.pid, 'SIGKILL');
}

for (const method of ['execute', 'batch']) {
  const original = Sqlite3Client.prototype[method];
  Sqlite3Client.prototype[method] = async function (...args) {
    const result = await original.apply(this, args);
    const sql = method === 'batch' ? args[0].map(sqlOf).join('; ') : sqlOf(args[0]);
    counted(method, sql);
    return result;
  };
}
