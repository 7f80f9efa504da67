import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeQueueContract, MAX_RECEIVES, type QueueHarness } from './queue.contract.test-util.ts';
import { createSqsQueue } from './queue-sqs.ts';

/** The queue contract on SQS, on two independent real-protocol servers started in this process, one each. */

const clients: SQSClient[] = [];
afterAll(() => {
  for (const client of clients) client.destroy();
});

function sqsClient(endpoint: string): SQSClient {
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  clients.push(client);
  return client;
}

/** Fresh queues for each test (a main queue dead-lettering to its DLQ after MAX_RECEIVES, and one more). */
async function openSqs(endpoint: string): Promise<QueueHarness> {
  const client = sqsClient(endpoint);
  const run = randomBytes(4).toString('hex');
  const create = async (name: string, attributes?: Record<string, string>) =>
    (await client.send(new CreateQueueCommand({ QueueName: `${name}-${run}`, Attributes: attributes })))
      .QueueUrl!;
  const dlq = await create('reports-dlq');
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }),
  );
  const reports = await create('reports', {
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: Attributes!.QueueArn,
      maxReceiveCount: MAX_RECEIVES,
    }),
  });
  const other = await create('other');
  return {
    // No long polling in tests: both servers answer from memory, so a short poll sees every message.
    queue: createSqsQueue({
      client,
      queueUrls: { reports, other },
      deadLetterUrls: { reports: dlq },
      waitSeconds: 0,
    }),
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    close: async () => {},
  };
}

describe('SQS on fauxqs', () => {
  let fauxqs: FauxqsServer;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
  });
  afterAll(async () => {
    await fauxqs?.stop();
  });

  describeQueueContract('SQS (fauxqs)', () => openSqs(fauxqs.address));

  it('the SQS queue names the topic it has no queue for', async () => {
    const { queue } = await openSqs(fauxqs.address);
    await expect(queue.send('nope', 'x')).rejects.toThrow('no SQS queue is configured for topic "nope"');
    await expect(queue.receive('nope', 1, 1)).rejects.toThrow('topic "nope"');
    await expect(queue.ack('nope:handle')).rejects.toThrow('topic "nope"');
    await expect(queue.ack('no-topic-here')).rejects.toThrow('not an SQS delivery id');
    await expect(queue.deadLetters('other')).rejects.toThrow(
      'no SQS dead-letter queue is configured for topic "other"',
    );
    await expect(queue.redrive('other')).rejects.toThrow('dead-letter queue');
    const client = sqsClient(fauxqs.address);
    expect(() => createSqsQueue({ client, queueUrls: { 'a:b': 'http://x' } })).toThrow('invalid topic name');
    expect(() => createSqsQueue({ client, queueUrls: {}, waitSeconds: 21 })).toThrow(RangeError);
  });
});

describe('SQS on local-aws-sqs', () => {
  let localSqs: Server;
  beforeAll(async () => {
    localSqs = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  });
  afterAll(async () => {
    await new Promise((resolve) => localSqs?.close(resolve));
  });

  describeQueueContract('SQS (local-aws-sqs)', () =>
    openSqs(`http://127.0.0.1:${(localSqs.address() as AddressInfo).port}`),
  );
});
