// Run by database.test.ts as a separate process: opens the database file and writes to it concurrently
// with another copy of itself.
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../infra/clock.ts';
import { createDbQueue } from '../../infra/queue-db.ts';
import { openDatabase } from './database.ts';

const [url, countText] = process.argv.slice(2);
const db = await openDatabase(url!);
const queue = createDbQueue(db, systemClock);
for (let i = 0; i < Number(countText); i++) {
  await queue.send('load', randomUUID());
  if (i % 5 === 0) await queue.receive('load', 2, 30);
}
db.$client.close();
