import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file under dir, recursively (links and other entries are not followed). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}
