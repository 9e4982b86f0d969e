// Transport mode: registering with the gateway (XEP-0077 in-band registration, as a gateway
// does per XEP-0100 §4.1). Registering gives the user a tlsim identity of their own (or adopts
// an existing tlsd key and certificate given in the form); <remove/> unregisters and deletes it.
// Unregistered users are answered by the transport with the same functions.
import { StanzaError } from '../xmpp/errors.js';
import type { Feature } from '../xmpp/feature.js';
import { x, type Element } from '../xmpp/xml/element.js';
import { dataForm, submittedValues } from './support/data-forms.js';

export const REGISTER_NS = 'jabber:iq:register';

export interface RegistrationOutcome {
  fingerprint: string;
  /** How peers reach the user (their share string), when known. */
  share?: string;
  /** False when the user was registered already (nothing changed). */
  created: boolean;
}

/** What registering does; the transport implements it (identities, store, listeners). */
export interface RegistrationService {
  isRegistered(user: string): boolean;
  register(user: string, existing?: { keyPem: string; certPem: string }): Promise<RegistrationOutcome>;
  /** Takes effect after the current stanza is answered; resolves when it is scheduled. */
  unregister(user: string): Promise<void>;
}

const INSTRUCTIONS =
  'Register to get a tlsim identity of your own (a fingerprint peers know you by). ' +
  'To keep an identity you already use with tlsd, paste its private key and certificate (PEM); otherwise leave them empty.';

/** The iq get answer: a form to fill in, or <registered/> (XEP-0077 §3.1, §3.2). */
function registrationForm(registered: boolean): Element {
  return x(
    'query',
    { xmlns: REGISTER_NS },
    registered && x('registered'),
    x('instructions', null, INSTRUCTIONS),
    dataForm('form', {
      title: 'Register with the tlsim gateway',
      instructions: INSTRUCTIONS,
      fields: [
        { var: 'FORM_TYPE', type: 'hidden', value: REGISTER_NS },
        { var: 'key', type: 'text-multi', label: 'Existing tlsd private key (PEM), optional' },
        { var: 'cert', type: 'text-multi', label: 'Its certificate (PEM), optional' },
      ],
    }),
  );
}

/** Answers a jabber:iq:register get or set from `user` (a bare JID). Throws StanzaError. */
export async function answerRegistration(
  service: RegistrationService,
  user: string,
  type: 'get' | 'set',
  payload: Element,
): Promise<Element | undefined> {
  if (type === 'get') return registrationForm(service.isRegistered(user));
  if (payload.getChild('remove')) {
    if (!service.isRegistered(user)) throw new StanzaError('registration-required', 'you are not registered');
    await service.unregister(user);
    return undefined;
  }
  const values = submittedValues(payload);
  if (values === 'cancel') return undefined;
  const keyPem = values?.key?.trim() ?? '';
  const certPem = values?.cert?.trim() ?? '';
  if ((keyPem === '') !== (certPem === '')) {
    throw new StanzaError('not-acceptable', 'give both the private key and its certificate, or neither');
  }
  if (service.isRegistered(user) && keyPem !== '') {
    throw new StanzaError('conflict', 'you are registered already: unregister first to change your identity');
  }
  await service.register(user, keyPem ? { keyPem, certPem } : undefined);
  return undefined;
}

/** For registered users: the same answers through their feature host (unregistering, the form). */
export const inBandRegistration: Feature = {
  name: 'registration',
  disco: { server: [REGISTER_NS] },
  setup(ctx) {
    const service = ctx.config.service as RegistrationService | undefined;
    if (!service) throw new Error('registration runs only in the transport mode (no service)');
    const user = ctx.identity.user.toString();
    ctx.iq('server', 'get', REGISTER_NS, 'query', (req) => answerRegistration(service, user, 'get', req.payload));
    ctx.iq('server', 'set', REGISTER_NS, 'query', (req) => answerRegistration(service, user, 'set', req.payload));
  },
};
