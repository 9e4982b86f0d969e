// The slixmpp driver's commands for transport-mode tests, against real servers: XEP-0077 registration
// (legacy fields with Prosody's own mod_register; a data form with a stand-in gateway component),
// XEP-0100-style contact offers by subscription (XEP-0172 nick, the auto_authorize switch),
// XEP-0050 ad-hoc commands (Prosody's admin commands), XEP-0203 delay stamps (the gateway's own in slixmpp.test.ts).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlixCommandError, SlixmppClient, type ConnectCommand } from '../../clients/slixmpp/driver.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { interopSuite } from '../support/tools.js';

/** Real programs under load: generous, never a timed assertion. */
const T = 120_000;
const W = 30_000;

const bare = (jid: string): string => jid.split('/')[0]!;

/** The stand-in for the gateway's transport mode (the shape the gateway answers with, not its code). */
const FAKE_GATEWAY = 'peers.localhost';
const CONTACT = `alice@${FAKE_GATEWAY}`;
const STORED_STAMP = '2024-05-06T07:08:09Z';

/**
 * A Prosody component module: XEP-0077 by data form only (FORM_TYPE, required nick, text-multi
 * about, list-single lang defaulting to en); once registered, a welcome line with what it got,
 * a subscribe from alice@ with a nick, and a message "stored" while the user was away, with a
 * delay stamp. It answers the user's subscribe with subscribed and says which answer
 * (subscribed or unsubscribed) the user gave to its own request.
 */
const FAKE_GATEWAY_LUA = `
local st = require "util.stanza";
local jid_bare = require "util.jid".bare;
local REGISTER, DATA = "jabber:iq:register", "jabber:x:data";
local INSTRUCTIONS = "Pick the name peers see.";
local contact = "alice@" .. module.host;
local registered = {};

local function child(el, name)
  for _, tag in ipairs(el.tags) do if tag.name == name then return tag; end end
end

local function submitted(query)
  local x = child(query, "x");
  if not x or x.attr.xmlns ~= DATA then return nil; end
  local values = { ["@type"] = x.attr.type };
  for _, field in ipairs(x.tags) do
    if field.name == "field" and field.attr.var then
      local lines = {};
      for _, v in ipairs(field.tags) do
        if v.name == "value" then lines[#lines + 1] = v:get_text() or ""; end
      end
      values[field.attr.var] = table.concat(lines, "|");
    end
  end
  return values;
end

module:hook("iq-get/host/jabber:iq:register:query", function(event)
  local stanza = event.stanza;
  local reply = st.reply(stanza):tag("query", { xmlns = REGISTER });
  if registered[jid_bare(stanza.attr.from)] then reply:tag("registered"):up(); end
  reply:tag("instructions"):text(INSTRUCTIONS):up()
    :tag("x", { xmlns = DATA, type = "form" })
      :tag("title"):text("Register with the fake gateway"):up()
      :tag("instructions"):text(INSTRUCTIONS):up()
      :tag("field", { var = "FORM_TYPE", type = "hidden" }):tag("value"):text(REGISTER):up():up()
      :tag("field", { var = "nick", type = "text-single", label = "Nickname" }):tag("required"):up():up()
      :tag("field", { var = "about", type = "text-multi", label = "About you" }):up()
      :tag("field", { var = "lang", type = "list-single", label = "Language" })
        :tag("value"):text("en"):up()
        :tag("option", { label = "English" }):tag("value"):text("en"):up():up()
        :tag("option", { label = "Deutsch" }):tag("value"):text("de"):up():up()
      :up()
    :up();
  module:send(reply);
  return true;
end);

module:hook("iq-set/host/jabber:iq:register:query", function(event)
  local stanza = event.stanza;
  local user = jid_bare(stanza.attr.from);
  local query = stanza.tags[1];
  if child(query, "remove") then
    if not registered[user] then
      module:send(st.error_reply(stanza, "auth", "registration-required", "you are not registered"));
    else
      registered[user] = nil;
      module:send(st.reply(stanza));
    end
    return true;
  end
  local values = submitted(query);
  if not values or values["@type"] ~= "submit" or values.FORM_TYPE ~= REGISTER then
    module:send(st.error_reply(stanza, "modify", "bad-request", "submit the data form"));
    return true;
  end
  if not values.nick or values.nick == "" then
    module:send(st.error_reply(stanza, "modify", "not-acceptable", "a nickname is required"));
    return true;
  end
  registered[user] = values.nick;
  module:send(st.reply(stanza));
  module:send(st.message({ from = module.host, to = user, type = "chat" })
    :tag("body"):text("registered nick=" .. values.nick .. " about=" .. (values.about or "") .. " lang=" .. (values.lang or "")):up());
  module:send(st.presence({ from = contact, to = user, type = "subscribe" })
    :tag("nick", { xmlns = "http://jabber.org/protocol/nick" }):text("Alice"):up());
  module:send(st.message({ from = contact .. "/tlsim", to = user, type = "chat", id = "stored-1" })
    :tag("body"):text("written while you were away"):up()
    :tag("delay", { xmlns = "urn:xmpp:delay", from = module.host, stamp = "${STORED_STAMP}" }):up());
  return true;
end);

module:hook("presence/bare", function(event)
  local stanza = event.stanza;
  local t, user = stanza.attr.type, jid_bare(stanza.attr.from);
  if stanza.attr.to ~= contact then return true; end
  if t == "subscribe" then
    module:send(st.presence({ from = contact, to = user, type = "subscribed" }));
  elseif t == "subscribed" or t == "unsubscribed" then
    module:send(st.message({ from = contact, to = user, type = "chat" }):tag("body"):text("you answered " .. t):up());
  end
  return true;
end);
`;

const USERS = {
  legacy: 'pw-legacy',
  other: 'pw-other',
  admin: 'pw-admin',
  plain: 'pw-plain',
  formuser: 'pw-formuser',
  accepter: 'pw-accepter',
  waiter: 'pw-waiter',
  refuser: 'pw-refuser',
};

interopSuite('slixmpp registration, subscriptions and ad-hoc commands against Prosody', ['prosody', 'slixmpp', 'openssl'], () => {
  let prosody: ProsodyServer;
  const clients: SlixmppClient[] = [];

  const login = async (user: string, password: string, opts: Partial<ConnectCommand> = {}) => {
    const c = await SlixmppClient.start();
    clients.push(c);
    const session = await c.connect({ jid: `${user}@localhost`, password, port: prosody.c2sPort, ca_file: prosody.tls.caCertFile, ...opts });
    return { c, session };
  };
  /** Logs in and expects the server to refuse the password. */
  const refused = async (user: string, password: string): Promise<void> => {
    const c = await SlixmppClient.start();
    clients.push(c);
    await expect(c.connect({ jid: `${user}@localhost`, password, port: prosody.c2sPort, ca_file: prosody.tls.caCertFile })).rejects.toThrow(
      /failed_auth|failed_all_auth/,
    );
  };

  beforeAll(async () => {
    const plugins = tmpDir('prosody-plugins');
    chmodSync(plugins, 0o755);
    const module = join(plugins, 'mod_fake_gateway.lua');
    writeFileSync(module, FAKE_GATEWAY_LUA);
    chmodSync(module, 0o644);
    prosody = await startProsody({
      users: USERS,
      // Own-account registration stays off (no allow_registration): mod_register only answers
      // logged-in users (password change, <remove/>). The admin gets Prosody's admin commands.
      extraConfig: [
        `plugin_paths = { ${JSON.stringify(plugins)} }`,
        'admins = { "admin@localhost" }',
        'VirtualHost "localhost" { modules_enabled = { "register", "adhoc", "admin_adhoc" } }',
        `Component ${JSON.stringify(FAKE_GATEWAY)} "fake_gateway"`,
        '',
      ].join('\n'),
    });
  }, T);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await prosody?.stop();
    await killAll();
    removeTmpDirs();
  }, T);

  it("reads Prosody's own registration form (legacy fields, <registered/>), changes the password with it, then removes the account", async () => {
    const { c } = await login('legacy', USERS.legacy);
    const form = await c.registerForm('localhost');
    expect(form).toMatchObject({ from: 'localhost', registered: true, form: null });
    expect(form.fields).toEqual([
      { name: 'username', value: 'legacy' },
      { name: 'password', value: '' },
    ]);

    // Someone else's name: Prosody's stanza error reaches the test whole.
    const wrong = await c.register('localhost', { username: 'other', password: 'stolen' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(SlixCommandError);
    expect((wrong as SlixCommandError).detail).toMatchObject({ error: 'iq error', condition: 'bad-request', type: 'modify' });

    const done = await c.register('localhost', { username: 'legacy', password: 'pw-legacy-2' });
    expect(done).toMatchObject({ submitted: 'legacy', was_registered: true, registered: true });
    await refused('legacy', USERS.legacy);
    const again = await login('legacy', 'pw-legacy-2');

    const from = again.c.mark();
    expect(await again.c.unregister('localhost')).toEqual({ from: 'localhost' });
    await again.c.waitForEvent((e) => e.event === 'disconnected', W, from);
    await refused('legacy', 'pw-legacy-2');
  }, T);

  it('registers with a gateway component by data form: FORM_TYPE, defaults, text-multi lines; gets the contact offer with a nick and a delayed message', async () => {
    const { c } = await login('formuser', USERS.formuser);
    const before = await c.registerForm(FAKE_GATEWAY);
    expect(before).toMatchObject({ registered: false, instructions: 'Pick the name peers see.', fields: [] });
    expect(before.form).toMatchObject({ type: 'form', title: 'Register with the fake gateway' });
    expect(before.form!.fields).toEqual([
      { var: 'FORM_TYPE', type: 'hidden', label: null, required: false, value: 'jabber:iq:register', options: [] },
      { var: 'nick', type: 'text-single', label: 'Nickname', required: true, value: null, options: [] },
      { var: 'about', type: 'text-multi', label: 'About you', required: false, value: null, options: [] },
      {
        var: 'lang',
        type: 'list-single',
        label: 'Language',
        required: false,
        value: 'en',
        options: [
          { label: 'English', value: 'en' },
          { label: 'Deutsch', value: 'de' },
        ],
      },
    ]);

    // A required field left out: the component's error, not a dead driver.
    await expect(c.register(FAKE_GATEWAY)).rejects.toMatchObject({ detail: { condition: 'not-acceptable', text: 'a nickname is required' } });
    await expect(c.unregister(FAKE_GATEWAY)).rejects.toMatchObject({ detail: { condition: 'registration-required' } });

    await c.roster(); // Prosody forwards "subscribed" only to resources that fetched the roster
    const from = c.mark();
    const done = await c.register(FAKE_GATEWAY, { nick: 'Forms', about: 'line one\nline two' });
    expect(done).toMatchObject({ submitted: 'form', was_registered: false, registered: true });
    expect((await c.nextMessage((m) => bare(m.from) === FAKE_GATEWAY, W, from)).body).toBe('registered nick=Forms about=line one|line two lang=en');

    const offer = await c.nextSubscription((s) => s.type === 'subscribe', W, from);
    expect(offer).toEqual({ event: 'subscription', from: CONTACT, type: 'subscribe', nick: 'Alice' });
    const stored = await c.nextMessage((m) => m.body === 'written while you were away', W, from);
    expect(stored).toMatchObject({ from: `${CONTACT}/tlsim`, type: 'chat', id: 'stored-1', delay: STORED_STAMP });
    // Subscription presences are subscription events only, not presence events too.
    expect(c.events.slice(from).some((e) => e.event === 'presence' && e.from === CONTACT)).toBe(false);

    expect(await c.registerForm(FAKE_GATEWAY)).toMatchObject({ registered: true });
    expect(await c.unregister(FAKE_GATEWAY)).toEqual({ from: FAKE_GATEWAY });
    expect(await c.registerForm(FAKE_GATEWAY)).toMatchObject({ registered: false });
  }, T);

  it('auto_authorize: true (default) approves the offer and subscribes back; null leaves it to the test; false refuses it', async () => {
    const accepter = (await login('accepter', USERS.accepter)).c;
    await accepter.roster();
    let from = accepter.mark();
    await accepter.register(FAKE_GATEWAY, { nick: 'Acc' });
    await accepter.nextSubscription((s) => s.type === 'subscribe' && s.from === CONTACT, W, from);
    expect((await accepter.nextMessage((m) => m.body.startsWith('you answered'), W, from)).body).toBe('you answered subscribed');
    // slixmpp subscribed back (auto_subscribe); the contact approved.
    await accepter.nextSubscription((s) => s.type === 'subscribed' && s.from === CONTACT, W, from);
    expect((await accepter.roster()).items).toContainEqual(expect.objectContaining({ jid: CONTACT, subscription: 'both' }));

    const waiter = (await login('waiter', USERS.waiter, { auto_authorize: null })).c;
    from = waiter.mark();
    await waiter.register(FAKE_GATEWAY, { nick: 'Wait' });
    await waiter.nextSubscription((s) => s.type === 'subscribe' && s.from === CONTACT, W, from);
    await waiter.nextMessage((m) => m.body === 'written while you were away', W, from);
    await waiter.registerForm(FAKE_GATEWAY); // a round trip after the component's last stanza
    expect(waiter.events.slice(from).some((e) => e.event === 'message' && e.body.startsWith('you answered'))).toBe(false);
    await waiter.request({ cmd: 'presence', to: CONTACT, type: 'subscribed' });
    expect((await waiter.nextMessage((m) => m.body.startsWith('you answered'), W, from)).body).toBe('you answered subscribed');

    const refuser = (await login('refuser', USERS.refuser, { auto_authorize: false })).c;
    from = refuser.mark();
    await refuser.register(FAKE_GATEWAY, { nick: 'Ref' });
    expect((await refuser.nextMessage((m) => m.body.startsWith('you answered'), W, from)).body).toBe('you answered unsubscribed');
  }, T);

  it("lists and runs Prosody's ad-hoc commands: a form submitted to completion, a form left open, a refusal", async () => {
    const { c } = await login('admin', USERS.admin);
    const list = await c.adHocList('localhost');
    const addUser = 'http://jabber.org/protocol/admin#add-user';
    expect(list.items).toContainEqual({ jid: 'localhost', node: addUser, name: 'Add User' });

    const open = await c.adHoc('localhost', addUser);
    expect(open).toMatchObject({ node: addUser, status: 'executing', steps: 1 });
    expect(open.sessionid).toBeTruthy();
    expect(open.forms[0]!.fields.map((f) => [f.var, f.type])).toEqual([
      ['FORM_TYPE', 'hidden'],
      ['accountjid', 'jid-single'],
      ['password', 'text-private'],
      ['password-verify', 'text-private'],
    ]);

    const made = await c.adHoc('localhost', addUser, { accountjid: 'made@localhost', password: 'pw-made', 'password-verify': 'pw-made' });
    expect(made).toMatchObject({ status: 'completed', steps: 2, notes: [{ type: 'info', text: 'Account successfully created' }] });
    await login('made', 'pw-made');
    const twice = await c.adHoc('localhost', addUser, { accountjid: 'made@localhost', password: 'x', 'password-verify': 'x' });
    expect(twice).toMatchObject({ status: 'completed', notes: [{ type: 'error', text: 'Account already exists' }] });

    // Not an admin: no admin commands listed, and running one is refused with a stanza error.
    const plain = (await login('plain', USERS.plain)).c;
    expect((await plain.adHocList('localhost')).items.map((i) => i.node)).not.toContain(addUser);
    await expect(plain.adHoc('localhost', addUser)).rejects.toMatchObject({ detail: { error: 'iq error', condition: 'forbidden' } });
  }, T);

  it('turns a bad command into an error event and keeps running', async () => {
    const { c } = await login('other', USERS.other);
    await expect(c.request({ cmd: 'nonsense' } as never)).rejects.toMatchObject({ detail: { error: "ValueError: unknown command 'nonsense'" } });
    await expect(c.request({ cmd: 'adhoc', to: 'localhost' } as never)).rejects.toMatchObject({ detail: { error: "KeyError: 'node'" } });
    await c.proc.write('[1, 2]\n');
    await c.proc.write('{not json\n');
    expect(await c.ping('localhost')).toMatchObject({ type: 'result' });
    expect(c.events.filter((e) => e.event === 'error' && /bad (JSON|command)/.test(e.error))).toHaveLength(2);
  }, T);
});
