// XML namespaces the feature modules share (each spec's own namespace stays in its file).
export const NS = {
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  caps: 'http://jabber.org/protocol/caps',
  chatStates: 'http://jabber.org/protocol/chatstates',
  receipts: 'urn:xmpp:receipts',
  chatMarkers: 'urn:xmpp:chat-markers:0',
  delay: 'urn:xmpp:delay',
  nick: 'http://jabber.org/protocol/nick',
  roster: 'jabber:iq:roster',
  blocking: 'urn:xmpp:blocking',
  vcard: 'vcard-temp',
  ping: 'urn:xmpp:ping',
  commands: 'http://jabber.org/protocol/commands',
  mam: 'urn:xmpp:mam:2',
  forward: 'urn:xmpp:forward:0',
} as const;
