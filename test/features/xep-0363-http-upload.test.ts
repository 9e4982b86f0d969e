// XEP-0363 dialogues: upload.<domain> in disco while files are served, its form, slots and their errors
// (file-too-large with max-file-size, the account's quota), the one PUT a slot allows, and expiry.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { UploadStore } from '../../gateway/files/upload-store.js';
import { openStore } from '../../gateway/store/index.js';
import { gatewayPerTest } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestGateway } from '../support/xmpp-harness.js';

const UPLOAD = 'urn:xmpp:http:upload:0';
const BASE = 'https://127.0.0.1:5443';
const request = (name: string, size: number | string, type = 'text/plain') =>
  `<request xmlns='${UPLOAD}' filename='${name}' size='${size}' content-type='${type}'/>`;

let clock = 1_000_000;
async function uploadStore(): Promise<UploadStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tlsim-files-'));
  const store = openStore(dataDir);
  store.accounts.ensure('me@localhost');
  const s = new UploadStore({ store, dataDir, limits: { maxFileBytes: 1000, quotaBytes: 1500, expiryMs: 60_000 }, log: pino({ level: 'silent' }), now: () => clock });
  await s.open();
  return s;
}

describe('http upload', () => {
  let gw: TestGateway;
  let files: UploadStore;
  // First: the gateway of each test is made with this test's file store.
  beforeEach(async () => {
    files = await uploadStore();
    files.setBaseUrl(BASE);
  });
  gatewayPerTest(
    (d) => ({ gw } = d),
    () => ({ server: { files: files.forAccount(1) } }),
  );

  it('lists upload.localhost, with its identity, feature and max-file-size form', async () => {
    const me = await gw.login();
    const items = await me.iq(`<query xmlns='http://jabber.org/protocol/disco#items'/>`, { to: gw.domain });
    expect(items.getChild('query')!.getChildren('item').map((i) => i.attrs.jid)).toContain('upload.localhost');
    const info = (await me.iq(`<query xmlns='http://jabber.org/protocol/disco#info'/>`, { to: 'upload.localhost' })).getChild('query')!;
    expect(info.getChild('identity')!.attrs).toMatchObject({ category: 'store', type: 'file' });
    expect(info.getChildren('feature').map((f) => f.attrs.var)).toContain(UPLOAD);
    const fields = info.getChild('x', 'jabber:x:data')!.getChildren('field');
    expect(fields.find((f) => f.attrs.var === 'max-file-size')!.getChildText('value')).toBe('1000');
  });

  it('hands out a slot whose PUT URL takes the announced bytes once, and whose GET URL then names the file', async () => {
    const me = await gw.login();
    const slot = (await me.iq(request('notes.txt', 5), { to: 'upload.localhost' })).getChild('slot', UPLOAD)!;
    const put = slot.getChild('put')!.attrs.url!;
    expect(put).toMatch(/^https:\/\/127\.0\.0\.1:5443\/upload\/[A-Za-z0-9_-]{32}\/notes\.txt$/);
    expect(slot.getChild('get')!.attrs.url).toBe(put);
    const token = put.split('/')[4]!;
    expect((await files.put(token, '6', 'text/plain', Readable.from([Buffer.from('hello!')]))).status).toBe(413);
    expect((await files.put(token, '5', 'image/png', Readable.from([Buffer.from('hello')]))).status).toBe(400);
    expect((await files.put(token, '5', 'text/plain', Readable.from([Buffer.from('hell')]))).status).toBe(400);
    expect((await files.put(token, '5', 'text/plain', Readable.from([Buffer.from('hello')]))).status).toBe(201);
    expect((await files.put(token, '5', 'text/plain', Readable.from([Buffer.from('HELLO')]))).status).toBe(409);
    expect(files.forAccount(1).fileForUrl(put)).toMatchObject({ name: 'notes.txt', size: 5 });
    // Another account's view does not see it.
    expect(files.forAccount(2).fileForUrl(put)).toBeUndefined();
    // Expiry: the file goes with its time.
    clock += 61_000;
    expect(await files.sweep()).toBe(1);
    expect(files.forAccount(1).fileForUrl(put)).toBeUndefined();
  });

  it('refuses a file over the limit with file-too-large and max-file-size, and past the quota with resource-constraint', async () => {
    const me = await gw.login();
    const big = await me.iq(request('big.bin', 1001), { to: 'upload.localhost' });
    expect(stanzaErrorOf(big)).toBe('not-acceptable');
    const tooLarge = big.getChild('error')!.getChild('file-too-large', UPLOAD)!;
    expect(tooLarge.getChildText('max-file-size')).toBe('1000');
    expect((await me.iq(request('a.bin', 1000), { to: 'upload.localhost' })).attrs.type).toBe('result');
    const over = await me.iq(request('b.bin', 600), { to: 'upload.localhost' });
    expect(stanzaErrorOf(over)).toBe('resource-constraint');
    expect(over.getChild('error')!.attrs.type).toBe('wait');
    expect(stanzaErrorOf(await me.iq(request('c.bin', 'lots'), { to: 'upload.localhost' }))).toBe('bad-request');
    expect(stanzaErrorOf(await me.iq(`<request xmlns='${UPLOAD}' size='3'/>`, { to: 'upload.localhost' }))).toBe('bad-request');
  });

  it('is not listed, and answers service-unavailable, while nothing serves the files', async () => {
    files.setBaseUrl(undefined);
    const me = await gw.login();
    const items = await me.iq(`<query xmlns='http://jabber.org/protocol/disco#items'/>`, { to: gw.domain });
    expect(items.getChild('query')!.getChildren('item').map((i) => i.attrs.jid)).not.toContain('upload.localhost');
    expect(stanzaErrorOf(await me.iq(request('a.txt', 1), { to: 'upload.localhost' }))).toBe('service-unavailable');
  });
});
