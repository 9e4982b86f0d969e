// A friend's QR code read by the webcam, end to end in Debian's headless Chromium: the camera is
// Chromium's fake capture device playing a clip of the QR code of a reference peer's share string
// (gnutls-serv). The person presses "Scan their QR code", the page reads the string with jsQR, they
// name the friend and press Add: the gateway dials the peer, the status page shows it linked, and
// it is in the XMPP client's roster under that name. A bad share string gets a readable refusal.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { formatShareString } from '../../gateway/bridge/share-string.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { writeQrCamera } from '../support/qr-video.js';
import { interopSuite } from '../support/tools.js';
import { launchChromium } from './support/browser.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gnutlsServ, WAIT_MS, type ListeningPeer } from './support/reference-peer.js';
import { xmppObserver } from './support/users.js';

const T = 120_000;
const SHOTS = join(import.meta.dirname, '../../clients/web');

interopSuite('e2e: adding a friend by scanning their QR code with the webcam (headless Chromium)', ['chromium', 'gnutls-serv', 'openssl'], () => {
  let gw: E2eGateway;
  let browser: Browser;
  let page: Page;
  let observer: XmppJsClient;
  let friend: ListeningPeer;
  let id: OpensslIdentity;
  let share: string;

  beforeAll(async () => {
    id = await makeOpensslIdentity(tmpDir('web-scan'));
    friend = await gnutlsServ(id);
    share = formatShareString({ fingerprint: id.fingerprint, host: '127.0.0.1', port: friend.port });
    const camera = await writeQrCamera(join(tmpDir('web-scan-camera'), 'friend-qr.y4m'), share);
    gw = await startInProcessGateway({ web: true });
    browser = await launchChromium(camera);
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['camera'], { origin: `https://127.0.0.1:${gw.running.web!.port}` });
    page = await context.newPage();
    observer = await xmppObserver(gw);
    await page.goto(gw.running.web!.oneTimeLink());
    await page.waitForFunction(`document.getElementById('fingerprint').textContent === ${JSON.stringify(gw.fingerprint)}`, undefined, { timeout: WAIT_MS });
  }, T);

  afterAll(async () => {
    await observer?.stop();
    await friend?.proc.kill();
    await browser?.close();
    await gw?.stop();
    removeTmpDirs();
  });

  it('the camera reads their share string; Add makes them a linked contact, named, in the XMPP roster', async () => {
    await page.click('#scan');
    await expect.poll(() => page.inputValue('#add-peer'), { timeout: WAIT_MS }).toBe(share);
    expect(await page.textContent('#add-result')).toContain('Read their share string');
    // The camera is off again once the code is read.
    expect(await page.isHidden('#scan-video')).toBe(true);

    await page.fill('#add-name', 'Alice from the café');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => page.textContent('#add-result'), { timeout: WAIT_MS }).toContain('Added');
    await page.locator(`#contacts tr[data-id="${id.fingerprint}"]`, { hasText: 'linked' }).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: join(SHOTS, 'status-scan.png'), fullPage: true });
    await expect
      .poll(async () => (await observer.roster()).find((i) => i.jid === gw.jidOf(id.fingerprint))?.name, { timeout: WAIT_MS })
      .toBe('Alice from the café');
  }, T);

  it('a share string that is not one is refused with the reason, and nothing is added', async () => {
    await page.fill('#add-peer', 'tlsim://not-a-fingerprint@127.0.0.1:1');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => page.getAttribute('#add-result', 'class'), { timeout: WAIT_MS }).toBe('error');
    expect(await page.textContent('#add-result')).toMatch(/fingerprint/i);
    expect(await page.inputValue('#add-peer')).toBe('tlsim://not-a-fingerprint@127.0.0.1:1');
    // The roster holds the gateway contact and the one friend, nothing else.
    expect((await observer.roster()).map((i) => i.jid).sort()).toEqual([gw.jidOf(id.fingerprint), 'localhost'].sort());
  }, T);
});
