import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertBlobKey } from './blob-store.ts';
import { createFsBlobStore } from './blob-store-fs.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cairn-blobs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the folder blob store', () => {
  it('puts, gets and reports existence; missing keys are null/false', async () => {
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

  it('refuses keys that could leave the root or differ between backends', async () => {
    const store = createFsBlobStore(root);
    for (const key of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      'A.onnx',
      'a\\b',
      '',
      'a/./b',
      'models/x y',
    ]) {
      expect(() => assertBlobKey(key), key).toThrow(TypeError);
      await expect(store.put(key, new Uint8Array([1]))).rejects.toThrow(TypeError);
      await expect(store.get(key)).rejects.toThrow(TypeError);
    }
    expect(() => assertBlobKey('models/0a1b.onnx')).not.toThrow();
  });
});
