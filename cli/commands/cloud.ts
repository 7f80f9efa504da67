import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DeadLetteringQueue } from '../../infra/queue.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';

export function registerCloudCommands(program: Command): void {
  const cloud = program
    .command('cloud')
    .description('run the cloud side on this machine (embedded defaults)');
  cloud
    .command('serve')
    .description('serve the API with a libSQL file database, filesystem blobs and a durable queue table')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8787')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'where the database, blobs and logs live', '.cairn/cloud')
    .option(
      '--request-timeout <seconds>',
      'a request (headers and body) that takes longer to arrive is answered 408 and cut off',
      '300',
    )
    .option('--vendor-quota-mib <n>', "what one vendor's models may occupy in the blob store (default 20480)")
    .action(
      async (opts: {
        port: string;
        host: string;
        data: string;
        requestTimeout: string;
        vendorQuotaMib?: string;
      }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new CliError(`--port: ${opts.port} is not a port`);
        const timeout = Number(opts.requestTimeout);
        if (!Number.isFinite(timeout) || timeout < 1 || timeout > 86_400)
          throw new CliError(
            `--request-timeout: ${opts.requestTimeout} is not a number of seconds (1 to 86400)`,
          );
        const quota = opts.vendorQuotaMib === undefined ? undefined : Number(opts.vendorQuotaMib);
        if (quota !== undefined && !(Number.isInteger(quota) && quota > 0))
          throw new CliError(`--vendor-quota-mib: ${opts.vendorQuotaMib} is not a whole number of MiB`);
        const limits = quota === undefined ? {} : { limits: { vendorStorageBytes: quota * 1024 * 1024 } };
        const { serveCloud } = await import('../../functions/serve.ts');
        const server = await serveCloud({
          port,
          host: opts.host,
          dataDir: resolve(opts.data),
          requestTimeoutMs: timeout * 1000,
          ...limits,
        }).catch((err) => {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
            throw new CliError(`port ${port} on ${opts.host} is already in use; pick another with --port`);
          throw new CliError((err as Error).message);
        });
        // The demo and the tests read this line to find the port.
        process.stdout.write(`cairn cloud listening on ${server.url} (data: ${resolve(opts.data)})\n`);
        process.stdout.write(`admin token: ${server.adminTokenPath}\n`);
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );

  addOutputOption(
    cloud
      .command('admin-token')
      .description(
        'mint the first admin token of a cloud whose database is CAIRN_DATABASE_URL (a deployment on AWS; the ' +
          'embedded cloud does this itself on its first start)',
      )
      .requiredOption('--out <file>', 'where to write it (created with mode 0600; never printed)'),
  ).action(async (opts: { out: string; output: string }) => {
    const url = process.env.CAIRN_DATABASE_URL;
    if (!url)
      throw new CliError('set CAIRN_DATABASE_URL (and CAIRN_DATABASE_AUTH_TOKEN) to the cloud’s database');
    const out = resolve(opts.out);
    if (existsSync(out)) throw new CliError(`${out} exists; choose a new file`);
    const authToken = process.env.CAIRN_DATABASE_AUTH_TOKEN;
    const { openDatabase } = await import('../../functions/db/database.ts');
    const { bootstrapAdminToken } = await import('../../functions/bootstrap-admin.ts');
    const { systemClock } = await import('../../infra/clock.ts');
    const { createMemoryLog } = await import('../../infra/operational-log.ts');
    const db = await openDatabase(url, authToken ? { authToken } : {}).catch((err: unknown) => {
      throw new CliError(`cannot open the cloud database: ${(err as Error).message}`);
    });
    try {
      // The audit entry's head goes nowhere else: a deployed cloud's operational log is CloudWatch.
      const audit = { db, clock: systemClock, log: createMemoryLog() };
      if (!(await bootstrapAdminToken(db, systemClock.now(), out, audit)))
        throw new CliError(
          'this cloud already has an admin token; an admin issues more with `cairn token create`',
        );
    } finally {
      db.$client.close();
    }
    print(opts.output, { adminTokenFile: out }, () => `admin token written to ${out} (mode 0600)`);
  });

  addOutputOption(
    cloud
      .command('dead-letters')
      .description(
        'reports ingest gave up on after repeated failures; --redrive queues them again. On AWS, with ' +
          'CAIRN_REPORTS_QUEUE_URL and CAIRN_REPORTS_DLQ_URL set, the SQS dead-letter queue',
      )
      .option('--data <dir>', 'the cloud’s data folder (the embedded cloud)', '.cairn/cloud')
      .option('--redrive', 'put them back in the queue (a running cloud ingests them at once)'),
  ).action(async (opts: { data: string; redrive?: boolean; output: string }) => {
    const { REPORTS_TOPIC } = await import('../../functions/deps.ts');
    await withDeadLetteringQueue(opts.data, async (queue) => {
      const dead = (await queue.deadLetters(REPORTS_TOPIC)).map((m) => ({
        messageId: m.id,
        attempts: m.attempts,
        ...reportOf(m.body),
      }));
      const redriven = opts.redrive ? await queue.redrive(REPORTS_TOPIC) : 0;
      print(opts.output, { deadLetters: dead, redriven }, () =>
        [
          ...dead.map(
            (d) =>
              `${d.messageId}  report ${d.reportId ?? '?'} from site ${d.siteId ?? '?'} (${d.attempts} attempts)`,
          ),
          opts.redrive
            ? `${redriven} queued again`
            : `${dead.length} dead letters${dead.length ? ' (--redrive to queue them again)' : ''}`,
        ].join('\n'),
      );
    });
  });
}

/** The SQS queues the environment names (a cloud on AWS), else the table queue in the embedded cloud's folder. */
async function withDeadLetteringQueue(
  data: string,
  use: (queue: DeadLetteringQueue) => Promise<void>,
): Promise<void> {
  if (process.env.CAIRN_REPORTS_QUEUE_URL || process.env.CAIRN_REPORTS_DLQ_URL) {
    if (!process.env.CAIRN_REPORTS_QUEUE_URL || !process.env.CAIRN_REPORTS_DLQ_URL)
      throw new CliError(
        'on AWS both CAIRN_REPORTS_QUEUE_URL and CAIRN_REPORTS_DLQ_URL must be set (the dead letters are in the second)',
      );
    const { sqsReportQueueFromEnv } = await import('../../functions/deps-from-env.ts');
    const sqs = sqsReportQueueFromEnv(process.env) as DeadLetteringQueue;
    return use(sqs);
  }
  const dataDir = resolve(data);
  if (!existsSync(join(dataDir, 'cairn.db')))
    throw new CliError(`no cloud database at ${join(dataDir, 'cairn.db')}`);
  const { openDatabase } = await import('../../functions/db/database.ts');
  const { createDbQueue } = await import('../../infra/queue-db.ts');
  const { systemClock } = await import('../../infra/clock.ts');
  const db = await openDatabase(`file:${join(dataDir, 'cairn.db')}`);
  try {
    await use(createDbQueue(db, systemClock));
  } finally {
    db.$client.close();
  }
}

/** The report id and site of a queued envelope, for people to recognise it; nothing else is shown. */
function reportOf(body: string): { reportId?: string; siteId?: string } {
  try {
    const { envelope } = JSON.parse(body) as { envelope: { siteId: string; payload: string } };
    const report = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      reportId?: string;
    };
    return { reportId: report.reportId, siteId: envelope.siteId };
  } catch {
    return {};
  }
}
