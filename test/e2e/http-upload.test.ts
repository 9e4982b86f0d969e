// End to end: XEP-0363 with slixmpp's own xep_0363 plugin (service discovery, slot, PUT with aiohttp over
// verified HTTPS) against a whole gateway. The file comes back bit-exact from its GET URL; the slot cannot be
// used twice; a file over files.max_file_mb is refused by the client from the service's form; the URL is not
// guessable; what is served cannot run as the status page. Expired files are swept.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { httpsRequest } from '../support/https-request.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';

const T = 120_000;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interopSuite('e2e: XEP-0363 upload with slixmpp, served on the status page listener', ['slixmpp', 'aiohttp'], () => {
  let gw: E2eGateway;
  let alice: SlixmppClient;
  let ca: string;
  const dir = tmpDir('tlsim-upload-files');
  const webPort = (): number => {
    const port = gw.running.web?.port;
    if (port === undefined) throw new Error('the status page did not listen');
    return port;
  };

  beforeAll(async () => {
    gw = await startInProcessGateway({ web: true, extraConfig: '[files]\nmax_file_mb = 2\n' });
    ca = await readFile(gw.caCertFile, 'utf8');
    alice = await SlixmppClient.start({ log: 'debug' });
    await alice.connect({ jid: gw.userJid, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
  }, T);

  afterAll(async () => {
    await alice?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('the service is found by disco, the file goes up once and comes back bit-exact', async (ctx) => {
    ctx.onTestFailed(() => console.error(`${gw.log.tail(40)}\n--- client ---\n${alice.recent(40)}`));
    const info = await alice.discoInfo('upload.localhost');
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'store', type: 'file' }));
    expect(info.features).toContain('urn:xmpp:http:upload:0');

    const bytes = randomBytes(300_000);
    const file = join(dir, 'holiday photo.jpg');
    await writeFile(file, bytes);
    const up = await alice.upload(file, 'image/jpeg');
    expect(up.service).toBe('upload.localhost');
    // The form's max-file-size, which the client read itself.
    expect(up.max_file_size).toBe(2 * 1024 * 1024);
    const url = new URL(up.url);
    expect(url.origin).toBe(`https://127.0.0.1:${webPort()}`);
    expect(url.pathname).toMatch(/^\/upload\/[A-Za-z0-9_-]{32}\/holiday%20photo\.jpg$/);

    const got = await alice.download(up.url);
    expect(got).toMatchObject({ status: 200, size: bytes.length, sha256: sha256(bytes), content_type: 'image/jpeg' });
    expect(got.csp).toMatch(/sandbox/);
    // On disk: the token, owner-only; never the user's file name.
    const token = url.pathname.split('/')[2]!;
    const onDisk = await stat(join(gw.dataDir, 'uploads', token));
    expect(onDisk.mode & 0o777).toBe(0o600);
    expect(onDisk.size).toBe(bytes.length);

    // The slot was used: a second PUT (the same length and type) cannot replace the file.
    const again = await httpsRequest({ port: webPort(), path: url.pathname, method: 'PUT', ca, body: randomBytes(bytes.length), headers: { 'content-type': 'image/jpeg' } });
    expect(again.status).toBe(409);
    expect((await alice.download(up.url)).sha256).toBe(sha256(bytes));
    // Another token is nothing, and so is the status page's session: files need their token only.
    const other = `/upload/${'A'.repeat(32)}/holiday%20photo.jpg`;
    expect((await httpsRequest({ port: webPort(), path: other, ca })).status).toBe(404);
  }, T);

  it('a file over files.max_file_mb is refused before any byte is sent', async () => {
    const file = join(dir, 'big.bin');
    await writeFile(file, randomBytes(2 * 1024 * 1024 + 1));
    await expect(alice.upload(file)).rejects.toThrow(/FileTooBig|too big/i);
  }, T);

  it('an HTML file is served as a sandboxed download, never as a page of the status page origin', async () => {
    const file = join(dir, 'page.html');
    await writeFile(file, '<script>document.cookie</script>');
    const up = await alice.upload(file, 'text/html');
    const got = await alice.download(up.url);
    expect(got.status).toBe(200);
    expect(got.disposition).toMatch(/^attachment;/);
    expect(got.csp).toMatch(/sandbox/);
  }, T);
});
