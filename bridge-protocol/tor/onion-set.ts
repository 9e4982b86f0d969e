// The onion services a TorService keeps on its tor: remembered, added on every control session (they die with it:
// not detached), withdrawn with DEL_ONION; HS_DESC followed per service (control-spec §3.27, §3.38, §4.1.25).
import type { Logger } from '../logger.js';
import { TorError, type HsDescEvent } from './control-parse.js';
import type { TorControl } from './control.js';
import { addOnionKeyBlob } from './onion-key.js';
import { DEFAULT_ONION_VIRTUAL_PORT, type OnionSpec, type TorWarning } from './service-types.js';

export interface OnionSetHooks {
  log: Logger;
  warning(w: TorWarning): void;
  /** A descriptor of `onion` (`<id>.onion`) reached a directory, first time on this control session. */
  published(onion: string): void;
}

/** HS_DESC UPLOAD and FAILED per service: every upload failed = not reachable (bine's rule, tor.md §2.6). */
interface Publication {
  uploads: number;
  failures: number;
  published: boolean;
}

/** What one control session holds: commands on it run one after the other, so no onion is added twice. */
class SessionOnions {
  readonly added = new Set<string>();
  readonly publications = new Map<string, Publication>();
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly control: TorControl) {}

  run(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export class OnionSet {
  /** Ours (TorServiceOptions.onion): a failure to add it fails the session, as before there were others. */
  private readonly own: OnionSpec | undefined;
  private readonly wanted = new Map<string, OnionSpec>();
  private current: SessionOnions | undefined;

  constructor(
    own: OnionSpec | undefined,
    private readonly hooks: OnionSetHooks,
  ) {
    this.own = own;
    if (own) this.wanted.set(own.key.serviceId, own);
  }

  /** Service ids (no `.onion`) we keep, ours first. */
  serviceIds(): string[] {
    return [...this.wanted.keys()];
  }

  /** Its descriptor reached a directory since tor last (re)started. */
  isPublished(serviceId: string): boolean {
    return this.current?.publications.get(serviceId)?.published ?? false;
  }

  /**
   * Remembers `spec` and adds it at once when a session is up. Rejects only when tor refuses it
   * (it stays remembered and is tried again on the next session); a tor that went away is no error.
   */
  async publish(spec: OnionSpec): Promise<void> {
    const id = spec.key.serviceId;
    const old = this.wanted.get(id);
    // Tor cannot change a service's ports: one with another listener or other ports is withdrawn and added again.
    if (old && portsOf(old) !== portsOf(spec)) await this.unpublish(id);
    this.wanted.set(id, spec);
    const s = this.current;
    if (!s) return;
    await s.run(() => this.add(s, id)).catch((err: unknown) => {
      if (!s.control.closed) throw err;
    });
  }

  /** Forgets the service and withdraws it when a session is up; tor's refusal or absence is no error. */
  async unpublish(serviceId: string): Promise<void> {
    if (serviceId === this.own?.key.serviceId) throw new RangeError('the service\'s own onion is withdrawn by stop()');
    this.wanted.delete(serviceId);
    const s = this.current;
    if (!s) return;
    await s.run(async () => {
      s.publications.delete(serviceId);
      if (!s.added.delete(serviceId)) return;
      try {
        await s.control.delOnion(serviceId);
      } catch (err) {
        if (!s.control.closed) this.hooks.log.warn({ onion: serviceId, err: (err as Error).message }, 'tor refused to withdraw an onion service');
      }
    });
  }

  /** A new control session: adds every remembered service (ours first; another's refusal is only a warning). */
  async attach(control: TorControl): Promise<void> {
    const s = new SessionOnions(control);
    this.current = s;
    await s.run(async () => {
      for (const id of [...this.wanted.keys()]) {
        if (s !== this.current || control.closed) return;
        if (id === this.own?.key.serviceId) {
          await this.add(s, id);
          continue;
        }
        await this.add(s, id).catch((err: Error) => {
          if (!control.closed) this.hooks.warning({ source: 'onion', message: `tor refused the onion service ${id}.onion: ${err.message}`, onion: `${id}.onion` });
        });
      }
    });
  }

  /**
   * Our own service's extra ports changed (a room hosted or no longer): remembered for every session, and on the
   * current one the service is added again with them (DEL_ONION, ADD_ONION: tor has no way to change its ports).
   */
  async setOwnExtraPorts(ports: ReadonlyArray<{ virt: number; target: string }>): Promise<void> {
    const own = this.own && this.wanted.get(this.own.key.serviceId);
    if (!own) return;
    const id = own.key.serviceId;
    this.wanted.set(id, { ...own, extraPorts: [...ports] });
    const s = this.current;
    if (!s) return;
    await s.run(async () => {
      if (s.added.delete(id)) await s.control.delOnion(id).catch(() => undefined);
      await this.add(s, id);
    }).catch((err: unknown) => {
      if (!s.control.closed) throw err;
    });
  }

  /** The session is gone: its onions went with it. */
  detach(): void {
    this.current = undefined;
  }

  /** An HS_DESC event; ignored unless it is about one of our services. */
  onHsDesc(d: HsDescEvent): void {
    const s = this.current;
    if (!s || !this.wanted.has(d.address)) return;
    let p = s.publications.get(d.address);
    if (!p) s.publications.set(d.address, (p = { uploads: 0, failures: 0, published: false }));
    const onion = `${d.address}.onion`;
    if (d.action === 'UPLOAD') p.uploads++;
    else if (d.action === 'FAILED' && ++p.failures >= p.uploads && !p.published) {
      const ours = d.address === this.own?.key.serviceId;
      const message = `tor could not publish ${ours ? 'our onion service descriptor' : `the descriptor of ${onion}`} to any directory (${d.reason ?? 'no reason given'}); it will retry`;
      this.hooks.warning(ours ? { source: 'onion', message } : { source: 'onion', message, onion });
    } else if (d.action === 'UPLOADED' && !p.published) {
      p.published = true;
      this.hooks.log.info({ onion }, 'onion service published');
      this.hooks.published(onion);
    }
  }

  private async add(s: SessionOnions, id: string): Promise<void> {
    const spec = this.wanted.get(id);
    if (!spec || s.added.has(id) || s !== this.current) return;
    s.added.add(id);
    // Not detached: the service dies with this connection (and an owned tor with it); we re-add it every time.
    const { serviceId } = await s.control.addOnion({ key: addOnionKeyBlob(spec.key), ports: [{ virt: virt(spec), target: spec.target }, ...(spec.extraPorts ?? [])] }).catch((err: unknown) => {
      s.added.delete(id);
      throw err;
    });
    if (serviceId !== id) throw new TorError('protocol', `tor made ${serviceId}.onion, expected ${id}.onion`);
  }
}

function virt(spec: OnionSpec): number {
  return spec.virtualPort ?? DEFAULT_ONION_VIRTUAL_PORT;
}

/** Every port of the service and its target, as one string to compare. */
function portsOf(spec: OnionSpec): string {
  return [{ virt: virt(spec), target: spec.target }, ...(spec.extraPorts ?? [])].map((p) => `${p.virt},${p.target}`).join(' ');
}
