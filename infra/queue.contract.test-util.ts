import { describe, it } from 'vitest';
import type { DeadLetteringQueue, QueueMessage } from './queue.ts';

/**
 * One contract for every queue implementation: the table queue (functions/db/queue.contract.test.ts) and SQS
 * on two independent real-protocol servers (./queue.contract.test.ts). SQS timeouts are whole seconds, so the
 * SQS runs wait real time where the table queue advances its clock.
 */

/** Receives before a message is dead-lettered, and the visibility timeout (s) the tests use. */
export const MAX_RECEIVES = 2;
export const VISIBILITY = 1;

export interface QueueHarness {
  queue: DeadLetteringQueue;
  /** Lets `ms` pass for the queue's visibility timeouts. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

const view = (messages: QueueMessage[]) => messages.map((m) => [m.body, m.attempts]).sort();

/** Receives until nothing is visible; every batch must respect the size asked for. */
async function drain(h: QueueHarness, topic: string, visibilitySeconds = 30): Promise<QueueMessage[]> {
  const all: QueueMessage[] = [];
  for (let i = 0; i < 50; i++) {
    const batch = await h.queue.receive(topic, 10, visibilitySeconds);
    if (batch.length > 10) throw new Error(`asked for 10 messages, got ${batch.length}`);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
  throw new Error('the queue never ran dry');
}

// Each test opens its own queues, so the tests run concurrently: the SQS ones spend most of their time waiting
// for visibility timeouts.
export function describeQueueContract(name: string, open: () => Promise<QueueHarness>): void {
  describe.concurrent(`the queue contract: ${name}`, () => {
    const opened = async (onTestFinished: (fn: () => Promise<void>) => void) => {
      const h = await open();
      onTestFinished(() => h.close());
      return h;
    };

    it('delivers per topic, hides received messages, and forgets acked ones', async ({
      expect,
      onTestFinished,
    }) => {
      const h = await opened(onTestFinished);
      await h.queue.send('reports', 'a');
      await h.queue.send('reports', 'b');
      await h.queue.send('other', 'x');
      const first = await drain(h, 'reports');
      expect(view(first)).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      expect(await h.queue.receive('reports', 10, 30)).toEqual([]);
      for (const m of first) await h.queue.ack(m.id);
      expect(view(await drain(h, 'other'))).toEqual([['x', 1]]);
    });

    it('redelivers an unacked message after its visibility timeout, counting the attempt; acked ones never return', async ({
      expect,
      onTestFinished,
    }) => {
      const h = await opened(onTestFinished);
      await h.queue.send('reports', 'keep');
      await h.queue.send('reports', 'done');
      const first = await drain(h, 'reports', VISIBILITY);
      expect(view(first)).toEqual([
        ['done', 1],
        ['keep', 1],
      ]);
      await h.queue.ack(first.find((m) => m.body === 'done')!.id);
      await h.elapse(VISIBILITY * 1000 + 200);
      const again = await drain(h, 'reports', VISIBILITY);
      expect(view(again)).toEqual([['keep', 2]]);
      await h.queue.ack(again[0]!.id);
      await h.elapse(VISIBILITY * 1000 + 200);
      expect(await drain(h, 'reports')).toEqual([]);
    });

    it('drains more than one batch fully, each message once', async ({ expect, onTestFinished }) => {
      const h = await opened(onTestFinished);
      const bodies = Array.from({ length: 25 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      for (const body of bodies) await h.queue.send('reports', body);
      const got = await drain(h, 'reports');
      expect(got.map((m) => m.body).sort()).toEqual(bodies);
      for (const m of got) await h.queue.ack(m.id);
      expect(await drain(h, 'reports')).toEqual([]);
    });

    it('dead-letters what keeps failing, lists it without consuming it, and redrives it without loss or duplicates', async ({
      expect,
      onTestFinished,
    }) => {
      const h = await opened(onTestFinished);
      const poison = Array.from({ length: 12 }, (_, i) => `poison-${String(i).padStart(2, '0')}`);
      for (const body of [...poison, 'fine']) await h.queue.send('reports', body);
      for (let attempt = 1; attempt <= MAX_RECEIVES; attempt++) {
        const batch = await drain(h, 'reports', VISIBILITY);
        expect(batch.map((m) => m.attempts)).toEqual(batch.map(() => attempt));
        for (const m of batch.filter((m) => m.body === 'fine')) await h.queue.ack(m.id);
        await h.elapse(VISIBILITY * 1000 + 200);
      }
      expect(await drain(h, 'reports')).toEqual([]);

      const dead = await h.queue.deadLetters('reports');
      expect(dead.map((m) => m.body).sort()).toEqual(poison);
      // What a dead letter's attempts count is not part of the contract: the table keeps its failed receives,
      // fauxqs carries them into the DLQ, local-aws-sqs starts the count again there.
      for (const m of dead) expect(m.attempts).toBeGreaterThanOrEqual(1);
      // Listing leaves them where they are.
      expect((await h.queue.deadLetters('reports')).map((m) => m.body).sort()).toEqual(poison);

      expect(await h.queue.redrive('reports')).toBe(poison.length);
      expect(await h.queue.deadLetters('reports')).toEqual([]);
      const back = await drain(h, 'reports');
      expect(view(back)).toEqual(poison.map((body) => [body, 1]));
      for (const m of back) await h.queue.ack(m.id);
      expect(await h.queue.redrive('reports')).toBe(0);
      expect(await drain(h, 'reports')).toEqual([]);
    });

    it('redrives dead letters that together exceed one batch request (SQS caps a batch at 1 MiB)', async ({
      expect,
      onTestFinished,
    }) => {
      const h = await opened(onTestFinished);
      // Ten reports of 150 KB each: every one fits a message; ten of them do not fit one SendMessageBatch.
      const big = Array.from({ length: 10 }, (_, i) => `${String(i).padStart(2, '0')}${'r'.repeat(150_000)}`);
      for (const body of big) await h.queue.send('reports', body);
      for (let attempt = 1; attempt <= MAX_RECEIVES; attempt++) {
        expect(await drain(h, 'reports', VISIBILITY)).toHaveLength(big.length);
        await h.elapse(VISIBILITY * 1000 + 200);
      }
      expect(await drain(h, 'reports')).toEqual([]);
      // Compared by name and length: a failure message with 1.5 MB of bodies helps nobody.
      const names = (bodies: string[]) => bodies.map((b) => `${b.slice(0, 2)}:${b.length}`).sort();
      expect(names((await h.queue.deadLetters('reports')).map((m) => m.body))).toEqual(names(big));
      expect(await h.queue.redrive('reports')).toBe(big.length);
      expect(await h.queue.deadLetters('reports')).toEqual([]);
      expect(names((await drain(h, 'reports')).map((m) => m.body))).toEqual(names(big));
    });
  });
}
