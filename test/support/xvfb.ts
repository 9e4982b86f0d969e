// A virtual X display for GUI clients under test (Debian's Xvfb), and screenshots of it (scrot) that wait
// until a window is drawn.
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { spawnProc, type Proc } from './proc.js';

/** Xvfb on a display it picks itself (-displayfd): no clash with another test's display. */
export async function startXvfb(size = '640x480'): Promise<{ proc: Proc; display: string }> {
  const proc = await spawnProc('Xvfb', ['-displayfd', '1', '-screen', '0', `${size}x24`, '-nolisten', 'tcp'], { stdin: 'ignore' });
  const n = await proc.waitFor((out) => /^(\d+)\s*$/m.exec(out)?.[1], 20_000, { stream: 'stdout' });
  return { proc, display: `:${n}` };
}

/**
 * The share of non-zero bytes in a PNG's filtered image data: exactly 0 for a black screen, whatever the
 * filter of each row (a drawn window gives about 1 %, most of it white rows that filter to zeros too).
 */
export function litShare(png: Buffer): number {
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const data = inflateSync(Buffer.concat(idat));
  let lit = 0;
  for (const b of data) if (b !== 0) lit++;
  return lit / data.length;
}

/** Screenshots the display into `file` until something is drawn on it (more than `minLit` of it lit). */
export async function drawn(file: string, env: NodeJS.ProcessEnv, timeoutMs: number, minLit = 0.001): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const scrot = await spawnProc('scrot', ['-o', file], { env, stdin: 'ignore' });
    const exit = await scrot.exited;
    if (exit.code !== 0) throw new Error(`scrot failed (${exit.code}):${scrot.tails()}`);
    if (litShare(await readFile(file)) > minLit) return;
    if (Date.now() > end) throw new Error(`nothing drawn on the screen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
