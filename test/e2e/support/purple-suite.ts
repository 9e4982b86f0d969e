// The usual end-to-end setup for a file: one in-process gateway, a Pidgin user (libpurple through
// bitlbee) and an @xmpp/client observer on its account, started before the suite and stopped after.
import { afterAll, beforeAll } from 'vitest';
import type { XmppJsClient } from '../../../clients/xmppjs/client.js';
import { removeTmpDirs } from '../../support/identities.js';
import { killAll } from '../../support/proc.js';
import { startInProcessGateway, type E2eGateway, type InProcessGatewayOptions } from './gateway.js';
import { PurpleUser, xmppObserver } from './users.js';

export interface PurpleSuite {
  gw: E2eGateway;
  user: PurpleUser;
  observer: XmppJsClient;
}

/** What a test gets to report its own failure with: `onFailure(ctx)` as its first line. */
export interface PurpleSuiteHooks {
  /** On failure, prints the tails of the user's IRC lines and of the gateway log. */
  onFailure(ctx: { onTestFailed: (fn: () => void) => void }): void;
}

/**
 * Registers the suite's beforeAll (gateway, then user, then observer; handed to `bind` once all
 * three are up) and afterAll (each stopped if it was started, then every program and temp dir).
 */
export function purpleSuite(bind: (s: PurpleSuite) => void, opts: InProcessGatewayOptions = {}, timeoutMs = 120_000): PurpleSuiteHooks {
  let gw: E2eGateway | undefined;
  let user: PurpleUser | undefined;
  let observer: XmppJsClient | undefined;

  beforeAll(async () => {
    gw = await startInProcessGateway(opts);
    try {
      user = await PurpleUser.login(gw);
      observer = await xmppObserver(gw);
    } catch (err) {
      // A login that fails in setup says why only in the gateway's own log.
      console.error(`--- gateway log (tail) ---\n${gw.log.tail(80)}`);
      throw err;
    }
    bind({ gw, user, observer });
  }, timeoutMs);

  afterAll(async () => {
    await observer?.stop();
    await user?.close();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  return {
    onFailure: (ctx) =>
      ctx.onTestFailed(() => {
        console.error(`--- IRC (tail) ---\n${user?.tail()}\n--- gateway log (tail) ---\n${gw?.log.tail()}`);
      }),
  };
}
