/**
 * Progress lines for long work. On a terminal one line is rewritten in place; otherwise (CI, a pipe, the
 * demo's child processes) a line is printed at most every `everyMs`.
 */
export function progressPrinter(prefix: string, everyMs = 1000) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(line: string, force = false) {
      const now = Date.now();
      if (!force && now - last < (tty ? 100 : everyMs)) return;
      last = now;
      if (tty) process.stderr.write(`\r\x1b[2K${prefix}${line}`);
      else process.stderr.write(`${prefix}${line}\n`);
    },
    done(line: string) {
      if (tty) process.stderr.write(`\r\x1b[2K`);
      process.stderr.write(`${prefix}${line}\n`);
    },
  };
}
