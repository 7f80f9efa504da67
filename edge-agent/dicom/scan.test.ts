import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkEntries, walkFiles } from './scan.ts';

describe('walkFiles', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-scan-'));
    await mkdir(join(root, 'b', 'deep'), { recursive: true });
    await mkdir(join(root, 'a'));
    await mkdir(join(root, 'empty'));
    for (const f of ['z.dcm', 'B.dcm', 'a/2.dcm', 'a/10.dcm', 'b/deep/x', 'b/1'])
      await writeFile(join(root, f), 'x');
    await symlink(root, join(root, 'b', 'loop')); // back to the root: a loop
    await symlink(join(root, 'a'), join(root, 'c-link-to-a')); // a second way into 'a'
    await symlink(join(root, 'z.dcm'), join(root, 'a', 'link.dcm')); // a linked file
    await symlink(join(root, 'missing'), join(root, 'dangling'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('yields every file once, sorted, following links without looping', async () => {
    const seen: string[] = [];
    for await (const f of walkFiles(root)) seen.push(relative(root, f));
    expect(seen).toEqual(['B.dcm', 'a/10.dcm', 'a/2.dcm', 'a/link.dcm', 'b/1', 'b/deep/x', 'z.dcm']);
  });

  it('throws a message without the path for a missing root', async () => {
    const missing = join(root, 'nope-PATIENT-NAME');
    await expect(async () => {
      for await (const _ of walkFiles(missing));
    }).rejects.toThrow(/^dicom-folder-unreadable: scan: /);
    await expect(async () => {
      for await (const _ of walkFiles(missing));
    }).rejects.not.toThrow(/PATIENT/);
  });

  it('yields what cannot be read as unreadable entries instead of skipping it', async () => {
    const entries = [];
    for await (const e of walkEntries(root))
      entries.push(e.unreadable ? 'unreadable' : relative(root, e.path));
    // The dangling link sorts between 'c-link-to-a' (a loop-free second way into 'a', entered once) and 'z.dcm'.
    expect(entries).toEqual([
      'B.dcm',
      'a/10.dcm',
      'a/2.dcm',
      'a/link.dcm',
      'b/1',
      'b/deep/x',
      'unreadable',
      'z.dcm',
    ]);
  });

  it('fails a root that is a file as dicom-folder-unreadable', async () => {
    await expect(async () => {
      for await (const _ of walkEntries(join(root, 'z.dcm')));
    }).rejects.toMatchObject({ code: 'dicom-folder-unreadable' });
  });
});
