// The "tlsim gateway" contact answers typed commands (help, add, list, block, share, …), for
// clients without ad-hoc commands: Dino, Conversations, bitlbee. RFC 6121 §5 (chat messages).
// The commands themselves live in gateway/commands, shared with XEP-0050 and the CLI.
import { randomUUID } from 'node:crypto';
import { runCommandLine } from '../commands/index.js';
import { conferenceDomain, type Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';

export const gatewayBot: Feature = {
  name: 'gateway-bot',
  setup(ctx) {
    const { identity, network, log } = ctx;
    const commands = { network, peerDomain: identity.peerDomain, domain: identity.domain, roomDomain: conferenceDomain(identity) };

    ctx.message('server', async (req) => {
      const type = req.stanza.attr('type') ?? 'normal';
      // Errors are never answered (no loops); there is no group chat or headline to answer.
      if (type !== 'chat' && type !== 'normal') return;
      const body = req.stanza.getChildText('body')?.trim();
      // Chat states, receipts and the like alone carry no command.
      if (!body) return;
      let text: string;
      try {
        text = (await runCommandLine(commands, body)).text;
      } catch (err) {
        // A bug, not the user's mistake: logged, and the user still gets an answer.
        log.error({ err }, 'gateway command failed');
        text = 'Something went wrong inside the gateway; the log has the details.';
      }
      // To the full JID that asked: the other sessions did not ask (carbons-enabled ones see a copy, XEP-0280).
      ctx.deliver(x('message', { type: 'chat', id: randomUUID(), from: identity.domain, to: req.from.toString() }, x('body', null, text)));
    });
  },
};
