import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBlobStore } from './blob-store-fs.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cairn-blobs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

// The behaviour every blob store shares is in blob-store.contract.test.ts; this is the folder's own.
describe('the folder blob store', () => {
  it('replaces a blob in place, leaving no temporary files behind', async () => {
    const store = createFsBlobStore(root);
    await store.put('models/abc.onnx', new Uint8Array([1, 2, 3]));
    expect(await store.get('models/abc.onnx')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.exists('models/abc.onnx')).toBe(true);
    expect(await store.get('models/none.onnx')).toBeNull();
    expect(await store.exists('models/none.onnx')).toBe(false);
    await store.put('models/abc.onnx', new Uint8Array([4]));
    expect(await store.get('models/abc.onnx')).toEqual(new Uint8Array([4]));
    // No temp files are left behind.
    expect(readdirSync(join(root, 'models'))).toEqual(['abc.onnx']);
  });
});
