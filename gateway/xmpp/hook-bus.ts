// The typed hook bus between the XMPP core and features: names are keys of Hooks, so a
// typo does not compile. A throwing handler is logged and never stops the others.
import type { Logger } from 'pino';
import type { Hooks } from './hooks.js';

type HandlerList = { [K in keyof Hooks]?: Array<Hooks[K]> };

export class HookBus {
  private readonly handlers: HandlerList = {};

  constructor(private readonly log: Logger) {}

  on<K extends keyof Hooks>(hook: K, handler: Hooks[K]): void {
    const list = (this.handlers[hook] ??= []) as Array<Hooks[K]>;
    list.push(handler);
  }

  has<K extends keyof Hooks>(hook: K): boolean {
    return (this.handlers[hook]?.length ?? 0) > 0;
  }

  emit<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): void {
    for (const handler of this.handlers[hook] ?? []) {
      try {
        const ret = (handler as (...a: Parameters<Hooks[K]>) => unknown)(...args);
        // Hooks are fire-and-forget, but a rejected promise must not go unnoticed.
        if (ret instanceof Promise) ret.catch((err: unknown) => this.log.error({ err, hook }, 'hook handler failed'));
      } catch (err) {
        this.log.error({ err, hook }, 'hook handler failed');
      }
    }
  }
}
