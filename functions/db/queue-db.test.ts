import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.ts';
import { createDbQueue } from '../../infra/queue-db.ts';
import { type Database, openDatabase } from './database.ts';

let dir: string;
let db: Database;
const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-queue-'));
  db = await openDatabase(`file:${join(dir, 'q.db')}`);
});
afterEach(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the database queue', () => {
  it('releases the messages a dead consumer had received and not acked, and no others', async () => {
    const q = createDbQueue(db, clock);
    await q.send('reports', 'claimed');
    clock.advance(1);
    await q.send('reports', 'waiting');
    expect((await q.receive('reports', 1, 60)).map((m) => m.body)).toEqual(['claimed']);
    expect(await q.releaseClaims('reports')).toBe(1);
    // At once, not after the 60 s visibility: in order, the released one counting its earlier delivery.
    expect((await q.receive('reports', 10, 60)).map((m) => [m.body, m.attempts])).toEqual([
      ['claimed', 2],
      ['waiting', 1],
    ]);
  });

  it('delivers in order, hides received messages, and forgets acked ones', async () => {
    const q = createDbQueue(db, clock);
    await q.send('reports', 'a');
    clock.advance(1);
    await q.send('reports', 'b');
    await q.send('other', 'x');
    const first = await q.receive('reports', 10, 30);
    expect(first.map((m) => [m.body, m.attempts])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(await q.receive('reports', 10, 30)).toEqual([]);
    await q.ack(first[0]!.id);
    clock.advance(30_000);
    const again = await q.receive('reports', 10, 30);
    expect(again.map((m) => [m.body, m.attempts])).toEqual([['b', 2]]);
    expect((await q.receive('other', 10, 30)).map((m) => m.body)).toEqual(['x']);
  });

  it('dead-letters a message after maxAttempts deliveries', async () => {
    const q = createDbQueue(db, clock, { maxAttempts: 2 });
    await q.send('reports', 'poison');
    for (let i = 0; i < 2; i++) {
      expect(await q.receive('reports', 1, 1)).toHaveLength(1);
      clock.advance(1000);
    }
    expect(await q.receive('reports', 1, 1)).toEqual([]);
    expect((await q.deadLetters('reports')).map((m) => [m.body, m.attempts])).toEqual([['poison', 2]]);
  });

  it('redrives dead letters: they are delivered again with fresh attempts', async () => {
    const q = createDbQueue(db, clock, { maxAttempts: 1 });
    await q.send('reports', 'poison');
    expect(await q.receive('reports', 1, 1)).toHaveLength(1);
    clock.advance(1000);
    expect(await q.receive('reports', 1, 1)).toEqual([]);
    expect(await q.redrive('reports')).toBe(1);
    expect(await q.deadLetters('reports')).toEqual([]);
    expect((await q.receive('reports', 1, 1)).map((m) => [m.body, m.attempts])).toEqual([['poison', 1]]);
  });

  it('never gives one message to two concurrent receivers', async () => {
    const q = createDbQueue(db, clock);
    for (let i = 0; i < 20; i++) await q.send('reports', String(i));
    const batches = await Promise.all(Array.from({ length: 5 }, () => q.receive('reports', 7, 30)));
    const bodies = batches.flat().map((m) => m.body);
    expect(bodies).toHaveLength(20);
    expect(new Set(bodies).size).toBe(20);
  });

  it('tells in-process listeners about each send', async () => {
    const q = createDbQueue(db, clock);
    const seen: string[] = [];
    const off = q.onSend((topic) => seen.push(topic));
    await q.send('reports', '1');
    off();
    await q.send('reports', '2');
    expect(seen).toEqual(['reports']);
  });
});
