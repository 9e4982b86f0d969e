// Collects what a link delivers, in order; next() waits (bounded) for the next message.
import type { Link } from '../../bridge-protocol/link.js';
import type { DecodedMessage } from '../../bridge-protocol/wire/line-codec.js';

export interface Inbox {
  messages: DecodedMessage[];
  next(): Promise<DecodedMessage>;
}

/** Starts the link and records its messages; next() rejects after `waitMs` without one. */
export function inbox(link: Link, waitMs = 15_000): Inbox {
  const messages: DecodedMessage[] = [];
  const pending: ((m: DecodedMessage) => void)[] = [];
  let taken = 0;
  link.on('message', (m) => {
    messages.push(m);
    const w = pending.shift();
    if (w) {
      taken++;
      w(m);
    }
  });
  link.start();
  return {
    messages,
    next: () =>
      taken < messages.length
        ? Promise.resolve(messages[taken++]!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no message within ${waitMs} ms`)), waitMs);
            pending.push((m) => {
              clearTimeout(timer);
              resolve(m);
            });
          }),
  };
}
