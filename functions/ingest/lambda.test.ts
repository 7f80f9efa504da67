import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsQueue } from '../../infra/queue-sqs.ts';
import { auditLog, jobs, reports } from '../db/schema.ts';
import { REPORTS_TOPIC } from '../deps.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  startLocalAws,
  type TestCloud,
  withAdapters,
} from '../test-fixtures.ts';
import type { SqsEvent } from './lambda.ts';

/**
 * The ingest Lambda end to end: reports go through the real API onto SQS (fauxqs), come back as the event
 * Lambda would build from them, and the exported handler (dependencies from the environment, as on AWS)
 * stores them. This test plays Lambda's event source mapping: it deletes what the handler did not name as
 * failed, and leaves the rest for SQS to deliver again.
 */

let aws: Awaited<ReturnType<typeof startLocalAws>>;
let sqs: SQSClient;
let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let handler: typeof import('./lambda.ts').handler;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws();
  sqs = aws.sqs();
  const queue = createSqsQueue({ client: sqs, queueUrls: { [REPORTS_TOPIC]: aws.queueUrl }, waitSeconds: 0 });
  const embedded = await openTestCloud();
  cloud = withAdapters(embedded, { queue });
  net = await seedNetwork(cloud);
  // The handler opens the test cloud's database file, as a Lambda would open the shared database.
  Object.assign(process.env, aws.env, { CAIRN_DATA_DIR: cloud.dir });
  ({ handler } = await import('./lambda.ts'));
});
afterAll(async () => {
  process.env = saved;
  sqs?.destroy();
  cloud?.close();
  await aws?.stop();
});

/** Receives what SQS has visible, in the shape Lambda hands to the function. */
async function receiveEvent(): Promise<{ event: SqsEvent & { Records: object[] }; messages: Message[] }> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: aws.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const Records = Messages.map((m) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
    attributes: m.Attributes ?? {},
    messageAttributes: {},
    md5OfBody: m.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:cairn-reports',
    awsRegion: 'us-east-1',
  }));
  return { event: { Records }, messages: Messages };
}

/** What Lambda does with a partial batch response: deletes every record the function did not name. */
async function deleteSucceeded(messages: Message[], failed: string[]): Promise<void> {
  const done = messages.filter((m) => !failed.includes(m.MessageId!));
  if (done.length === 0) return;
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: aws.queueUrl,
      Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
    }),
  );
}

const sql = (s: string) => cloud.deps.db.$client.execute(s);
const storedReports = async () => (await cloud.deps.db.select().from(reports)).map((r) => r.reportId);
const acceptances = async (reportId: string) =>
  (await cloud.deps.db.select().from(auditLog)).filter(
    (r) => r.action === 'report.accepted' && r.target === reportId,
  ).length;

async function postReport(siteId: 'site-a' | 'site-c') {
  const report = siteReport(net.acmeIds(siteId));
  const signer = siteId === 'site-a' ? net.siteA : net.siteC;
  const sent = await call(cloud, 'POST', '/v1/reports', {
    token: signer.token,
    json: signEnvelope(signer, report),
  });
  expect(sent.status).toBe(202);
  return report;
}

describe('the ingest Lambda', () => {
  it('stores a report that came through the API and SQS; a redelivered duplicate changes nothing', async () => {
    const report = await postReport('site-a');
    const { event, messages } = await receiveEvent();
    expect(event.Records).toHaveLength(1);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await storedReports()).toEqual([report.reportId]);
    const [job] = (await cloud.deps.db.select().from(jobs)).filter((j) => j.id === report.jobId);
    expect(job?.status).toBe('done');

    // SQS may deliver a message again (at-least-once) before the deletion lands.
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await storedReports()).toEqual([report.reportId]);
    expect(await acceptances(report.reportId)).toBe(1);
    await deleteSucceeded(messages, []);
    expect((await receiveEvent()).event.Records).toEqual([]);
  });

  it('names only the records whose handling threw; SQS delivers those again and they are then stored', async () => {
    const report = await postReport('site-c');
    // A poison message that the API would never send: rejected (and so done with), not retried.
    await createSqsQueue({ client: sqs, queueUrls: { [REPORTS_TOPIC]: aws.queueUrl } }).send(
      REPORTS_TOPIC,
      'not json',
    );
    await sql(`CREATE TRIGGER fail_accept BEFORE INSERT ON audit_log WHEN NEW.action = 'report.accepted'
               BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    let failing = '';
    try {
      const first = await receiveEvent();
      expect(first.event.Records).toHaveLength(2);
      failing = first.messages.find((m) => m.Body !== 'not json')!.MessageId!;
      const response = await handler(first.event);
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failing }] });
      await deleteSucceeded(first.messages, [failing]);
    } finally {
      await sql('DROP TRIGGER fail_accept');
    }
    // The failed record stays in flight until its visibility timeout (1 s here), then comes back.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const again = await receiveEvent();
    expect(again.event.Records.map((r) => r.messageId)).toEqual([failing]);
    expect(again.messages[0]!.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(await handler(again.event)).toEqual({ batchItemFailures: [] });
    await deleteSucceeded(again.messages, []);
    expect(await storedReports()).toContain(report.reportId);
    expect(await acceptances(report.reportId)).toBe(1);
    expect((await receiveEvent()).event.Records).toEqual([]);
  });
});
