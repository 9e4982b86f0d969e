// The one PUT of an XEP-0363 slot (gateway/files/upload-store.ts) when the body breaks off: found by the http-upload
// fuzz target (test/fuzz/http-upload.fuzz.test.ts), where a client gone mid-body was logged as an escaped error.
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cleanFileName } from '../../gateway/files/upload-store.js';
import { testUploadStore } from '../support/upload-store.js';

/** A body that gives `first` and then fails as a request does when its client goes away ("aborted"). */
function brokenOff(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      } else {
        this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      }
    },
  });
}

describe('upload store PUT', () => {
  it('answers a body that breaks off with 400 (it was not the announced size), keeps no part, and the slot takes a whole PUT after it', async () => {
    const files = await testUploadStore({ maxFileBytes: 1000, quotaBytes: 10_000, expiryMs: 60_000 });
    const slot = files.forAccount(1).requestSlot('a.txt', 5, 'text/plain');
    const token = slot.putUrl.split('/')[4]!;
    const outcome = await files.put(token, '5', 'text/plain', brokenOff(Buffer.from('he')));
    expect(outcome.status).toBe(400);
    expect(await readdir(files.dir)).toEqual([]);
    expect((await files.put(token, '5', 'text/plain', Readable.from([Buffer.from('hello')]))).status).toBe(201);
    expect(files.file(token)).toMatchObject({ size: 5 });
  });
});

describe('upload file names', () => {
  it('drops the bidirectional controls and C1 controls that would disguise a name ("photo\u202Egpj.exe" shows as "photoexe.jpg")', () => {
    expect(cleanFileName('photo\u202egpj.exe')).toBe('photogpj.exe');
    expect(cleanFileName('a\u2066b\u2069\u200f\u061c.txt')).toBe('ab.txt');
    expect(cleanFileName('x\u0085y\u009b.pdf')).toBe('xy.pdf');
    // What a name may hold is kept: other scripts, emoji, and joiners inside emoji.
    expect(cleanFileName('Привет 👩\u200d💻 سلام.txt')).toBe('Привет 👩\u200d💻 سلام.txt');
    expect(cleanFileName('\u202e')).toBe('file');
  });
});
