import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitModel } from '../../cli/commands/network.ts';
import { CloudApi } from '../../client/cloud-api.ts';
import { type ServedCloud, serveCloud } from '../../functions/serve.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';

/**
 * The network the hostile site suites start from: a real cloud over HTTP (data in `<dir>/cloud`), region
 * `east` with the given sites, vendor `acme-ai` whose demo nodule model (`<dir>/manifest.json`,
 * `<dir>/model.onnx`) is submitted, and a coordinator.
 */
export async function startDemoNetwork(
  dir: string,
  siteIds: readonly string[],
): Promise<{ cloud: ServedCloud; coordinator: CloudApi; modelId: string }> {
  const cloud = await serveCloud({ port: 0, dataDir: join(dir, 'cloud') });
  const admin = new CloudApi(cloud.url, readFileSync(cloud.adminTokenPath, 'utf8').trim());
  await admin.json('POST', '/v1/regions', { json: { id: 'east', name: 'East' } });
  for (const id of siteIds)
    await admin.json('POST', '/v1/sites', { json: { id, regionId: 'east', name: id } });
  await admin.json('POST', '/v1/vendors', { json: { id: 'acme-ai', name: 'Acme' } });
  const vendor = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'vendor', vendorId: 'acme-ai', label: 'acme' },
  });
  const coord = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'coordinator', label: 'coord' },
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(demoManifest(1)));
  writeFileSync(join(dir, 'model.onnx'), buildNoduleDetectorOnnx(1));
  const submitted = await submitModel(
    new CloudApi(cloud.url, vendor.token),
    join(dir, 'manifest.json'),
    join(dir, 'model.onnx'),
  );
  return { cloud, coordinator: new CloudApi(cloud.url, coord.token), modelId: submitted.modelId };
}

/** `cairn agent enroll` for one synthetic site (one thread: these machines are small), plus `extra` flags. */
export function enrollArgs(o: {
  cloudUrl: string;
  token: string;
  dicom: string;
  labels: string;
  state: string;
  extra?: string[];
}): string[] {
  return [
    'agent',
    'enroll',
    '--cloud',
    o.cloudUrl,
    '--token',
    o.token,
    '--dicom',
    o.dicom,
    '--labels',
    o.labels,
    '--threads',
    '1',
    '--state',
    o.state,
    ...(o.extra ?? []),
  ];
}
