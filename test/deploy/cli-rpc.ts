import { createServer, type Server } from 'node:http';
import { buildHandler } from './build-handler.ts';
import type { Built } from './sst-context.ts';

export interface CliRpc {
  server: Server;
  /** Every handler built, in the order the builds finished. */
  builds: Built[];
  /** Builds still running (a build may still be writing when the program has died). */
  inFlight: Set<Promise<unknown>>;
}

/**
 * The part of the `sst` CLI that SST's components call back into during `run()` (HTTP JSON-RPC at
 * SST_SERVER): the region's bootstrap (asset bucket) and Runtime.Build, whose artifacts go under `work`.
 */
export async function startCliRpc(work: string): Promise<CliRpc> {
  const builds: Built[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      const reply = (payload: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      try {
        const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
        if (method === 'Provider.Aws.Bootstrap') {
          reply({ result: { asset: 'sst-asset-mock', state: 'sst-state-mock' } });
        } else if (method === 'Runtime.Build') {
          const build = buildHandler(params[0], work).then((b) => {
            builds.push(b);
            return { handler: b.lambdaHandler, out: b.out, errors: b.errors, sourcemaps: [] };
          });
          inFlight.add(build);
          reply({ result: await build.finally(() => inFlight.delete(build)) });
        } else {
          reply({ error: `rpc: can't find method ${method}` });
        }
      } catch (err) {
        reply({ error: String(err) });
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, builds, inFlight };
}
