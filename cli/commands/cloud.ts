import { resolve } from 'node:path';
import type { Command } from 'commander';
import { serveCloud } from '../../functions/serve.ts';
import { CliError } from '../errors.ts';

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
    .action(async (opts: { port: string; host: string; data: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port: ${opts.port} is not a port`);
      const server = await serveCloud({ port, host: opts.host, dataDir: resolve(opts.data) }).catch((err) => {
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
    });
}
