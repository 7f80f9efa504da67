import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertBlobKey, type BlobStore } from './blob-store.ts';

/** A blob store in a local folder: the embedded default. */
export function createFsBlobStore(root: string): BlobStore {
  const pathOf = (key: string) => {
    assertBlobKey(key);
    return join(root, ...key.split('/'));
  };
  /**
   * Writes beside the target and renames: readers never see a half-written artifact, even after a crash.
   */
  async function atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const path = pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await write(tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
  const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
  return {
    async put(key, bytes) {
      await atomically(key, (tmp) => writeFile(tmp, bytes, { flag: 'wx' }));
    },
    async putStream(key, chunks) {
      let size = 0;
      await atomically(key, async (tmp) => {
        async function* counted() {
          for await (const c of chunks) {
            size += c.byteLength;
            yield c;
          }
        }
        // pipeline waits for the file to drain each chunk: at most a highWaterMark is buffered.
        await pipeline(Readable.from(counted()), createWriteStream(tmp, { flags: 'wx' }));
      });
      return size;
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)));
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async getStream(key) {
      // Opened here so that a missing blob is null now, not an error on the first read.
      try {
        const handle = await open(pathOf(key), 'r');
        return handle.createReadStream({ highWaterMark: 1024 * 1024 });
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (err) {
        if (missing(err)) return false;
        throw err;
      }
    },
    async size(key) {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? s.size : null;
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async copy(from, to) {
      const source = pathOf(from);
      try {
        await atomically(to, (tmp) => copyFile(source, tmp, constants.COPYFILE_FICLONE));
        return true;
      } catch (err) {
        if (missing(err) && !(await this.exists(from))) return false;
        throw err;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
