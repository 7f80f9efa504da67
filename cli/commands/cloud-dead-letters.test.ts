import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../functions/db/database.ts';
import { REPORTS_TOPIC } from '../../functions/deps.ts';
import { startLocalAws } from '../../functions/test-fixtures.ts';
import { fixedClock } from '../../infra/clock.ts';
import { createDbQueue } from '../../infra/queue-db.ts';
import { runCairn } from '../../test/support/cli-runner.ts';

/** A queued report as the API enqueues it, as far as the listing reads it. */
const queued = (reportId: string, siteId: string) =>
  JSON.stringify({
    envelope: { siteId, payload: Buffer.from(JSON.stringify({ reportId })).toString('base64') },
  });

const cairn = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCairn(args, { CAIRN_REPORTS_QUEUE_URL: '', CAIRN_REPORTS_DLQ_URL: '', ...env });

describe('cairn cloud dead-letters', () => {
  it('lists and redrives the embedded cloud’s dead letters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dead-'));
    try {
      const db = await openDatabase(`file:${join(dir, 'cairn.db')}`);
      const clock = fixedClock(new Date('2020-01-01T00:00:00Z'));
      const queue = createDbQueue(db, clock);
      await queue.send(REPORTS_TOPIC, queued('rpt_1', 'site-a'));
      for (let i = 0; i < 6; i++) {
        await queue.receive(REPORTS_TOPIC, 10, 1);
        clock.advance(2000);
      }
      db.$client.close();

      const listed = await cairn(['cloud', 'dead-letters', '--data', dir, '--output', 'json']);
      expect(listed.status, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        deadLetters: [{ reportId: 'rpt_1', siteId: 'site-a', attempts: 5 }],
        redriven: 0,
      });
      const redriven = await cairn(['cloud', 'dead-letters', '--data', dir, '--redrive', '--output', 'json']);
      expect(JSON.parse(redriven.stdout)).toMatchObject({ redriven: 1 });
      expect(
        JSON.parse((await cairn(['cloud', 'dead-letters', '--data', dir, '--output', 'json'])).stdout),
      ).toEqual({
        deadLetters: [],
        redriven: 0,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on AWS (SQS, here fauxqs)', () => {
    let aws: Awaited<ReturnType<typeof startLocalAws>>;
    beforeAll(async () => {
      aws = await startLocalAws();
    });
    afterAll(() => aws.stop());

    it('lists the SQS dead-letter queue, redrives it to the reports queue, and loses nothing', async () => {
      const sqs = aws.sqs();
      for (const id of ['rpt_1', 'rpt_2'])
        await sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: queued(id, 'site-b') }));

      const listed = await cairn(['cloud', 'dead-letters', '--output', 'json'], aws.env);
      expect(listed.status, listed.stderr).toBe(0);
      const { deadLetters } = JSON.parse(listed.stdout) as { deadLetters: { reportId: string }[] };
      expect(deadLetters.map((d) => d.reportId).sort()).toEqual(['rpt_1', 'rpt_2']);

      const redriven = await cairn(['cloud', 'dead-letters', '--redrive', '--output', 'json'], aws.env);
      expect(redriven.status, redriven.stderr).toBe(0);
      expect(JSON.parse(redriven.stdout)).toMatchObject({ redriven: 2 });
      const back = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      expect((back.Messages ?? []).map((m) => m.Body).sort()).toEqual([
        queued('rpt_1', 'site-b'),
        queued('rpt_2', 'site-b'),
      ]);
      const after = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.dlqUrl, MaxNumberOfMessages: 10 }),
      );
      expect(after.Messages ?? []).toEqual([]);
    });

    it('says what is missing, in one line, when only the queue URL is set', async () => {
      const r = await cairn(['cloud', 'dead-letters'], { ...aws.env, CAIRN_REPORTS_DLQ_URL: '' });
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/CAIRN_REPORTS_DLQ_URL/);
    });
  });
});
