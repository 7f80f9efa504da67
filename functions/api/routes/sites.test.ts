import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, openTestCloud, seedNetwork, type TestCloud } from '../../test-fixtures.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
});
afterEach(() => cloud.close());

describe('POST /v1/sites with an id that is taken', () => {
  it('answers the same whether the site is in a region the caller sees or not, naming nothing of it', async () => {
    // The north coordinator sees site-a (north) and not site-c (south).
    const create = (id: string) =>
      call(cloud, 'POST', '/v1/sites', { token: net.northToken, json: { id, regionId: 'north', name: 'X' } });
    const visible = await create('site-a');
    const hidden = await create('site-c');
    expect(visible.status).toBe(409);
    expect(hidden.body).toEqual(visible.body);
    expect(hidden.body.error.code).toBe('site-id-unavailable');
    expect(JSON.stringify(hidden.body)).not.toMatch(/exist|south|Hospital C/i);
    expect((await create('site-new')).status).toBe(201);
  });
});
