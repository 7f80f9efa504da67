import { createCloudApp } from '../../functions/app.ts';
import type { CloudDeps } from '../../functions/deps.ts';
import { headersText } from '../support/recording-proxy.ts';
import { agentRows, type FuzzWorld } from './fuzz-world.ts';

interface Role {
  name: string;
  token?: string;
}

/** Every GET route the API has, with every id it could be asked about. */
function getRequests(w: FuzzWorld, reportIds: string[]): { route: string; path: string }[] {
  const ids: Record<string, string[]> = {
    campaigns: w.campaigns.map((c) => c.id),
    models: w.modelIds,
    reports: reportIds,
    sites: w.sites.map((s) => s.id),
    vendors: ['acme-ai'],
  };
  const routes = [
    ...new Set(
      createCloudApp({} as CloudDeps)
        .routes.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/'))
        .map((r) => r.path),
    ),
  ];
  const requests: { route: string; path: string }[] = [];
  for (const route of routes) {
    w.sweep.set(route, new Set());
    const params = route.match(/:[A-Za-z]+/g) ?? [];
    if (params.length === 0) {
      requests.push({ route, path: route });
      continue;
    }
    const m = /^\/v1\/([a-z-]+)\/:[A-Za-z]+(\/[a-z-]+)?$/.exec(route);
    const values = m ? ids[m[1]!] : undefined;
    if (!m || !values)
      throw new Error(`GET ${route}: this test does not know which ids to ask it about; add them`);
    for (const v of values)
      requests.push({ route, path: `/v1/${m[1]}/${encodeURIComponent(v)}${m[2] ?? ''}` });
  }
  return requests;
}

/** Asks every GET route as every role (8 at a time) and adds each answer, status and headers included. */
export async function sweepGetRoutes(w: FuzzWorld): Promise<void> {
  const reportIds: string[] = [];
  const roles: Role[] = [
    { name: 'anonymous' },
    { name: 'admin', token: w.tokens.admin },
    { name: 'coordinator', token: w.tokens.coordinator },
    { name: 'coordinator of north', token: w.tokens.north },
    { name: 'vendor acme-ai', token: w.tokens.vendor },
  ];
  for (const s of w.sites) {
    const rows = await agentRows(s.stateDir);
    roles.push({ name: `site ${s.id}`, token: rows.token });
    for (const r of rows.outbox) reportIds.push(String(r.report_id));
  }
  const requests = getRequests(w, reportIds);
  const queue = roles.flatMap((role) => requests.map((r) => ({ role, ...r })));
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let q = queue.shift(); q; q = queue.shift()) {
        const res = await fetch(`${w.cloud.url}${q.path}`, {
          headers: q.role.token ? { authorization: `Bearer ${q.role.token}` } : {},
        });
        const body = Buffer.from(await res.arrayBuffer());
        w.sweep.get(q.route)!.add(res.status);
        w.sweepRequests++;
        w.haystacks.add(
          `GET ${q.path} as ${q.role.name} → ${res.status}`,
          Buffer.concat([Buffer.from(`${res.status}\r\n${headersText(res.headers)}\r\n\r\n`), body]),
        );
      }
    }),
  );
}
