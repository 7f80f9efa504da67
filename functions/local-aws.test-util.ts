import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';

/** Real protocol servers for the cloud's AWS adapters in tests: fauxqs (S3 and SQS), and a recording proxy. */

const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * fauxqs, a real S3 and SQS protocol server, in this process: an artifacts bucket and a reports queue (1 s
 * visibility) that dead-letters after 3 receives. S3 is reached through a recording proxy, so `s3Requests`
 * shows what reached the bucket (fauxqs checks no signatures and records no headers). `env` is what
 * deps-from-env.ts needs to use all this, AWS_* included.
 */
export async function startLocalAws() {
  // Loaded here, not at the top: most tests that use these fixtures never touch AWS.
  const [{ startFauxqs }, { SQSClient }, { createS3Client }] = await Promise.all([
    import('fauxqs'),
    import('@aws-sdk/client-sqs'),
    import('../infra/blob-store-s3.ts'),
  ]);
  const server = await startFauxqs({ port: 0, logger: false });
  const proxy = await startRecordingProxy(server.address);
  const bucket = 'cairn-artifacts';
  server.createBucket(bucket);
  const dlq = server.createQueue('cairn-reports-dlq');
  const queue = server.createQueue('cairn-reports', {
    attributes: {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 3 }),
    },
  });
  const s3Endpoint = proxy.url;
  const clientConfig = { region: 'us-east-1', credentials: LOCAL_AWS_CREDENTIALS };
  return {
    server,
    bucket,
    queueUrl: queue.queueUrl,
    dlqUrl: dlq.queueUrl,
    s3: () => createS3Client({ ...clientConfig, endpoint: s3Endpoint, forcePathStyle: true }),
    sqs: () => new SQSClient({ ...clientConfig, endpoint: server.address }),
    env: {
      CAIRN_ARTIFACTS_BUCKET: bucket,
      CAIRN_REPORTS_QUEUE_URL: queue.queueUrl,
      CAIRN_REPORTS_DLQ_URL: dlq.queueUrl,
      CAIRN_S3_FORCE_PATH_STYLE: 'true',
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_SQS: server.address,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
    },
    s3Requests: proxy.requests,
    async stop() {
      await proxy.close();
      await server.stop();
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A real HTTP proxy (plain node:http) in front of `target` that records each request's method, URL and
 * headers before passing it on unchanged: it shows what reached a server that cannot show it itself.
 */
export async function startRecordingProxy(target: string) {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

/** fauxqs for a whole test file: started in its beforeAll, with one S3 client, both stopped in its afterAll. */
export function useLocalAws() {
  const local = {} as { aws: Awaited<ReturnType<typeof startLocalAws>>; s3: S3Client };
  beforeAll(async () => {
    local.aws = await startLocalAws();
    local.s3 = local.aws.s3();
  });
  afterAll(async () => {
    local.s3?.destroy();
    await local.aws?.stop();
  });
  return local;
}
