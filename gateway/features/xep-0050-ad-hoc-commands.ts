// The gateway's commands (add, list, block, share, …) as ad-hoc commands on the server domain,
// shown by Pidgin under the account's menu, by Gajim, Profanity and Converse. XEP-0050; XEP-0004 forms.
// The commands themselves live in gateway/commands, shared with the chat bot and the CLI.
import { randomUUID } from 'node:crypto';
import { COMMANDS, runCommand, shortFingerprint, type CommandResult, type CommandSpec } from '../commands/index.js';
import { StanzaError } from '../xmpp/errors.js';
import { HANDLED, conferenceDomain, type Feature, type FeatureContext, type IqRequest } from '../xmpp/feature.js';
import { errorReply } from '../xmpp/stanza.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { dataForm, DATA_FORMS_NS, submittedValues, type FormField } from './support/data-forms.js';
import { NS } from './support/ns.js';

/** A user rarely has more than one or two dialogs open; abandoned ones must not pile up. */
const MAX_SESSIONS = 32;
const SESSION_TTL_MS = 10 * 60_000;

interface AdHocSession {
  node: string;
  /** The full JID that started it: another resource cannot continue it. */
  owner: string;
  expires: number;
}

/** Commands offered as ad-hoc: `help` is a chat thing; a form lists the fields instead. */
const AD_HOC: readonly CommandSpec[] = COMMANDS.filter((c) => !c.chatOnly);

export const adHocCommands: Feature = {
  name: 'ad-hoc-commands',
  // COMPAT(pidgin): only with this on the domain does it fetch the command list for the account menu.
  disco: { server: [NS.commands, DATA_FORMS_NS] },
  setup(ctx) {
    const { identity, network } = ctx;
    const commands = { network, peerDomain: identity.peerDomain, domain: identity.domain, roomDomain: conferenceDomain(identity) };
    const sessions = new Map<string, AdHocSession>();

    const prune = (now: number): void => {
      for (const [id, s] of sessions) if (s.expires <= now) sessions.delete(id);
    };
    const open = (node: string, owner: string, now: number): string => {
      // Full: the oldest dialog goes first (a Map iterates in insertion order).
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const id = randomUUID();
      sessions.set(id, { node, owner, expires: now + SESSION_TTL_MS });
      return id;
    };

    const complete = async (spec: CommandSpec, sessionid: string, args: Record<string, string>): Promise<Element> => {
      let result: CommandResult;
      try {
        result = await runCommand(commands, spec.name, args);
      } catch (err) {
        ctx.log.error({ err, command: spec.name }, 'ad-hoc command failed');
        throw new StanzaError('internal-server-error');
      }
      return reply(spec, sessionid, 'completed', x('note', { type: result.ok ? 'info' : 'error' }, result.text), result.ok && resultForm(spec, result));
    };

    ctx.iq('server', 'set', NS.commands, 'command', async (req) => {
      const node = req.payload.attr('node');
      const spec = AD_HOC.find((c) => c.name === node);
      if (!spec) throw new StanzaError('item-not-found', 'no such command');
      const action = req.payload.attr('action') ?? 'execute';
      const sessionid = req.payload.attr('sessionid');
      const submitted = submittedValues(req.payload);
      const now = Date.now();
      prune(now);

      if (sessionid === undefined) {
        if (action !== 'execute' && action !== 'complete') return commandError(req, 'bad-request', 'bad-sessionid', 'no session to continue');
        if (submitted === 'cancel') return reply(spec, randomUUID(), 'canceled');
        // No fields to fill in, or a client that sends the filled form right away: one step.
        if (spec.params.length === 0 || submitted) return complete(spec, randomUUID(), submitted ?? {});
        const fields = formFields(ctx, spec);
        if (!fields) return reply(spec, randomUUID(), 'completed', x('note', { type: 'info' }, nothingToPick(spec)));
        const id = open(spec.name, req.from.toString(), now);
        return reply(
          spec,
          id,
          'executing',
          // One stage: the client's "complete" (or "execute", its default) submits the form.
          x('actions', { execute: 'complete' }, x('complete')),
          dataForm('form', { title: spec.title, instructions: `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`, fields }),
        );
      }

      const session = sessions.get(sessionid);
      if (!session || session.node !== spec.name || session.owner !== req.from.toString()) {
        return commandError(req, 'bad-request', 'bad-sessionid', 'unknown or expired session: run the command again');
      }
      if (action === 'cancel' || submitted === 'cancel') {
        sessions.delete(sessionid);
        return reply(spec, sessionid, 'canceled');
      }
      if (action !== 'execute' && action !== 'complete') return commandError(req, 'bad-request', 'bad-action', 'this command has one step');
      sessions.delete(sessionid);
      return complete(spec, sessionid, submitted ?? {});
    });
  },
};

function reply(spec: CommandSpec, sessionid: string, status: string, ...children: Array<Element | false | undefined>): Element {
  return x('command', { xmlns: NS.commands, node: spec.name, sessionid, status }, ...children);
}

/** XEP-0050 §4.6: errors carry a commands-specific condition next to the stanza one, so we build the reply. */
function commandError(req: IqRequest, condition: 'bad-request', specific: string, text: string): typeof HANDLED {
  const err = errorReply(req.stanza, new StanzaError(condition, text), req.from.toString());
  err.getChild('error')!.append(x(specific, { xmlns: NS.commands }));
  req.session.send(err);
  return HANDLED;
}

/** The form's fields; undefined when a field must name a peer and there is none to pick. */
function formFields(ctx: FeatureContext, spec: CommandSpec): FormField[] | undefined {
  const fields: FormField[] = [];
  for (const p of spec.params) {
    if (p.kind === 'contact' && p.among) {
      const among = p.among;
      const options = ctx.network
        .listContacts()
        .filter((c) => among.includes(c.state))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((c) => ({ label: `${c.name} (${shortFingerprint(c.id)})`, value: c.id }));
      if (options.length === 0 && p.required) return undefined;
      // A list to pick from: nobody types a 64-character fingerprint in a dialog.
      fields.push({ var: p.name, type: 'list-single', label: p.label, required: p.required, options });
    } else {
      fields.push({ var: p.name, type: 'text-single', label: p.label, required: p.required });
    }
  }
  return fields;
}

function nothingToPick(spec: CommandSpec): string {
  const among = spec.params.find((p) => p.kind === 'contact')?.among ?? [];
  if (among.includes('requested')) return 'No pending requests.';
  if (among.length === 1 && among[0] === 'blocked') return 'No blocked peers.';
  return 'No contacts yet.';
}

const LABELS: Record<string, string> = {
  fingerprint: 'Fingerprint',
  share: 'Share string',
  listening: 'Listening on',
  transport: 'Transport',
  online: 'Peers online',
  queued: 'Queued messages',
  contacts: 'Contacts',
  requests: 'Pending requests',
};

/** For commands that show something (list, requests, status, share): the data as a form too. */
function resultForm(spec: CommandSpec, result: CommandResult): Element | undefined {
  if (spec.params.length > 0) return undefined;
  // COMPAT(pidgin): it cannot draw a result table (XEP-0004 §3.4) and shows an empty second
  // form instead; the note, which every client shows, already holds the whole list.
  if (Array.isArray(result.data)) return undefined;
  if (result.data && typeof result.data === 'object') {
    const fields: FormField[] = Object.entries(result.data as Record<string, unknown>).map(([key, v]) => ({
      var: key,
      type: Array.isArray(v) ? 'text-multi' : 'text-single',
      label: LABELS[key] ?? key,
      value: Array.isArray(v) ? v.map(String) : v === undefined ? '' : String(v),
    }));
    return dataForm('result', { title: spec.title, fields });
  }
  return undefined;
}
