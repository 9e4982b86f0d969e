// A real file store (gateway/files/upload-store.ts) in a fresh data directory, for feature dialogues: small limits,
// a clock the test moves, served at a fixed base URL (nothing listens there: tests feed PUTs to put() directly).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { UploadStore, type UploadLimits } from '../../gateway/files/upload-store.js';
import { openStore } from '../../gateway/store/index.js';

export const UPLOAD_BASE = 'https://127.0.0.1:5443';

/** Account 1 (me@localhost) exists; `now` is read at every call. */
export async function testUploadStore(limits: UploadLimits, now: () => number = Date.now): Promise<UploadStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tlsim-files-'));
  const store = openStore(dataDir);
  store.accounts.ensure('me@localhost');
  const s = new UploadStore({ store, dataDir, limits, log: pino({ level: 'silent' }), now });
  await s.open();
  s.setBaseUrl(UPLOAD_BASE);
  return s;
}
