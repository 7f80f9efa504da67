import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A recording proxy: every byte between the agents (and the people's API calls) and the cloud. */

export interface Exchange {
  method: string;
  url: string;
  status: number;
  request: Buffer;
  response: Buffer;
}

export function headersText(h: IncomingHttpHeaders | Headers): string {
  const entries = h instanceof Headers ? [...h.entries()] : Object.entries(h);
  return entries.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\r\n');
}

export async function startRecordingProxy(target: string) {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers.set(k, v);
      try {
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method ?? 'GET',
          headers,
          ...(body.length ? { body } : {}),
          redirect: 'manual',
        });
        const resBody = Buffer.from(await upstream.arrayBuffer());
        exchanges.push({
          method: req.method ?? '',
          url: req.url ?? '',
          status: upstream.status,
          request: Buffer.concat([
            Buffer.from(`${req.method} ${req.url}\r\n${headersText(req.headers)}\r\n\r\n`),
            body,
          ]),
          response: Buffer.concat([
            Buffer.from(`${upstream.status}\r\n${headersText(upstream.headers)}\r\n\r\n`),
            resBody,
          ]),
        });
        const out: Record<string, string> = {};
        for (const [k, v] of upstream.headers)
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k))
            out[k] = v;
        res.writeHead(upstream.status, out);
        res.end(resBody);
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
