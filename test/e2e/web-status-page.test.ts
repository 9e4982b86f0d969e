// End to end in Debian's headless Chromium (playwright-core): the status page over HTTPS on loopback.
// A person logs in with the account password, reads the fingerprint, scans the QR code (decoded by
// jsqr from the pixels the browser drew), accepts a peer that dialed in (gnutls-cli) and sees it in
// an XMPP client's roster, then chats in the built-in Converse.js with gnutls-serv (and sends it a file, XEP-0363:
// gnutls-serv reads one line about it). Requests without
// the session, from another Origin or naming a non-loopback Host are refused.
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import { launchChromium } from './support/browser.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gnutlsCli, gnutlsServ, WAIT_MS, type DialingPeer, type ListeningPeer } from './support/reference-peer.js';
import { xmppObserver } from './support/users.js';

// COMPAT(jsqr): a UMD bundle whose module.exports is the function itself, typed as an ES default export.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;
const T = 120_000;
const SHOTS = join(import.meta.dirname, '../../clients/web');

interface Reply {
  status: number;
  location?: string;
  body: string;
}

/** One HTTPS request to the page, trusting the gateway's CA, with headers a browser would not let a page set. */
function get(gw: E2eGateway, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gw.running.web!.port, path, method, headers, ca: caPem, servername: 'localhost', timeout: WAIT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, ...(res.headers.location && { location: res.headers.location }) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
let caPem = '';

interopSuite('e2e: the status page and web chat in headless Chromium', ['chromium', 'gnutls-cli', 'gnutls-serv', 'openssl'], () => {
  let gw: E2eGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let observer: XmppJsClient;
  const peers: Array<DialingPeer | ListeningPeer> = [];
  let origin: string;

  beforeAll(async () => {
    gw = await startInProcessGateway({ websocket: true, web: true, policy: 'ask' });
    caPem = await readFile(gw.caCertFile, 'utf8');
    origin = `https://127.0.0.1:${gw.running.web!.port}`;
    browser = await launchChromium();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    observer = await xmppObserver(gw);
  }, T);

  afterAll(async () => {
    await observer?.stop();
    for (const p of peers) await p.proc.kill();
    await browser?.close();
    await gw?.stop();
  });

  it('refuses a request without the session, from another Origin, or naming another Host', async () => {
    const port = gw.running.web!.port!;
    const page = await get(gw, '/');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/login');
    expect((await get(gw, '/api/state')).status).toBe(401);
    expect((await get(gw, '/qr.svg')).status).toBe(401);
    expect((await get(gw, '/login', { origin: 'https://evil.example' })).status).toBe(403);
    // DNS rebinding: a name that resolves to 127.0.0.1 is still not ours.
    expect((await get(gw, '/login', { host: `evil.example:${port}` })).status).toBe(403);
    expect((await get(gw, '/login', { host: `localhost:${port}` })).status).toBe(200);
    const wrong = await get(gw, '/login', { origin: `https://127.0.0.1:${port}`, host: `127.0.0.1:${port}` }, 'POST');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Wrong password');
  });

  it('logs in with the password and shows the fingerprint, the share string and its QR code', async () => {
    await page.goto(`${origin}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', gw.password);
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#fingerprint'), { timeout: WAIT_MS }).toBe(gw.fingerprint);
    expect(await page.textContent('#share')).toBe(gw.share);
    const cookie = (await context.cookies()).find((c) => c.name === 'tlsim_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });

    // The QR code as the browser drew it, read back from its pixels.
    // (Browser code as text: the test is compiled without the DOM library.)
    await page.waitForFunction("document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0");
    const pixels = (await page.evaluate(`(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 400;
      canvas.height = 400;
      const g = canvas.getContext('2d');
      g.drawImage(document.getElementById('qr'), 0, 0, 400, 400);
      return Array.from(g.getImageData(0, 0, 400, 400).data);
    })()`)) as number[];
    const code = jsQR(Uint8ClampedArray.from(pixels), 400, 400);
    expect(code?.data).toBe(gw.share);
  }, T);

  it('a peer that dialed in waits as a request; Accept makes it a contact in the XMPP roster', async () => {
    const id = await makeOpensslIdentity(tmpDir('web-accept'));
    const peer = await gnutlsCli(id, gw.peerPort);
    peers.push(peer);
    await peer.type('hello, it is Bob\n');
    await peer.handshake;
    const row = page.locator(`.request[data-id="${id.fingerprint}"]`);
    await row.waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(SHOTS, 'status-request.png'), fullPage: true });
    await row.getByRole('button', { name: 'Accept' }).click();
    await expect
      .poll(async () => (await observer.roster()).map((i) => i.jid), { timeout: WAIT_MS })
      .toContain(gw.jidOf(id.fingerprint));
    // The contact list follows live: the peer is linked, and no request waits any more.
    await page.locator(`#contacts tr[data-id="${id.fingerprint}"]`, { hasText: 'linked' }).waitFor({ timeout: WAIT_MS });
    expect(await page.locator('.request').count()).toBe(0);
  }, T);

  it('a one-time link logs in once', async () => {
    const link = gw.running.web!.oneTimeLink();
    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const p = await other.newPage();
      await p.goto(link);
      await expect.poll(() => p.textContent('#fingerprint'), { timeout: WAIT_MS }).toBe(gw.fingerprint);
      const again = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const res = await again.goto(link);
      expect(res?.status()).toBe(401);
    } finally {
      await other.close();
    }
  }, T);

  it('chats through the built-in Converse.js with a reference peer (gnutls-serv)', async () => {
    const id = await makeOpensslIdentity(tmpDir('web-chat'));
    const serv = await gnutlsServ(id);
    peers.push(serv);
    await gw.running.network.addContact(id.fingerprint, { name: 'Alice', address: `127.0.0.1:${serv.port}` });
    await page.goto(`${origin}/chat`);
    const contact = page.locator('#controlbox').getByText('Alice', { exact: true }).first();
    await contact.waitFor({ timeout: 60_000 });
    await contact.click();
    const box = page.locator('textarea.chat-textarea');
    await box.waitFor({ timeout: WAIT_MS });
    await box.fill('hi Alice, from the browser');
    await box.press('Enter');
    await serv.proc.waitFor(/received cmd: hi Alice, from the browser/, WAIT_MS);
    // gnutls-serv --echo sends the line back: it arrives in the same chat.
    await page.locator('.chat-msg__text', { hasText: 'hi Alice, from the browser' }).nth(1).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(SHOTS, 'chat.png') });

    // A file from Converse.js (its XEP-0363 upload to upload.localhost, found by disco): the reference peer gets
    // one line about it, never its bytes; the user reads why from the gateway contact.
    const file = join(tmpDir('web-file'), 'from the browser.txt');
    await writeFile(file, 'browser bytes that stay home\n'.repeat(40));
    await page.setInputFiles('input.fileupload', file);
    await serv.proc.waitFor(/received cmd: \[a file was offered here: "from the browser\.txt"/, WAIT_MS);
    expect(serv.proc.output()).not.toContain('browser bytes');
    await page.goto(`${origin}/`);
    await page.locator(`#contacts tr[data-id="${id.fingerprint}"]`).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(SHOTS, 'status.png'), fullPage: true });
  }, T);
});
