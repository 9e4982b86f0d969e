#!/usr/bin/python3
"""A slixmpp client driven over stdin/stdout with JSON lines, for interop tests.

Run with Debian's /usr/bin/python3 (python3-slixmpp 1.8). One JSON object per line in:
  {"cmd":"connect","jid","password","host","port","mechanism"?,"ca_file"?,"tls_verify"?,"starttls"?,
   "auto_authorize"?,"auto_subscribe"?,"priority"?}
      auto_authorize: true (default) answers a subscribe with subscribed, false with unsubscribed,
      null leaves it pending (answer with "presence"); auto_subscribe: true (default) subscribes
      back after authorizing. slixmpp's roster.auto_authorize / auto_subscribe.
      auto_receipts: true (default) answers every XEP-0184 <request/> with <received/> at once, as
      Conversations, Gajim and Dino do (slixmpp's xep_0184 auto_ack).
  {"cmd":"send","to","body","type"?,"msg_id"?,"receipt"?,"markable"?,"state"?}
      receipt: XEP-0184 <request/>; markable: XEP-0333 <markable/>; state: a XEP-0085 chat state with it.
  {"cmd":"marker","to","msg_id","marker","type"?} marker "receipt" (XEP-0184 <received/>) or "received",
      "displayed", "acknowledged" (XEP-0333, slixmpp's xep_0333.send_marker) for message `msg_id`; with "type"
      (groupchat: to a room, msg_id the room's stanza-id) a message of that type carrying the marker alone.
  {"cmd":"chat_state","to","state"} a state alone (XEP-0085): active, composing, paused, inactive, gone.
      priority: the <priority/> of the initial presence (RFC 6121 §4.7.2.3), none by default.
  {"cmd":"ping","to"?}   {"cmd":"disco_info","to","node"?}
  {"cmd":"roster"} (the whole roster, as the server has it)   {"cmd":"presence","to"?,"type"?,"priority"?}
  {"cmd":"carbons","enable"?} XEP-0280 enable (default) or disable ("enable": false), slixmpp's xep_0280
  {"cmd":"disconnect"}
  {"cmd":"drop_tcp"} (abort the TCP connection, no </stream>: the session stays resumable)
  {"cmd":"reconnect"} (connect again; XEP-0198 resumes the session if the server allows)
  {"cmd":"register_form","to"} XEP-0077 get only: {instructions, fields, form, registered}
  {"cmd":"register","to","fields"?:{name: value}} XEP-0077 get, then set: a data form of type
      submit (FORM_TYPE, the offered fields' defaults, then "fields") if the server offered one,
      else the legacy fields named in "fields". {instructions, fields, form, was_registered,
      submitted: "form"|"legacy", registered: true}
  {"cmd":"unregister","to"} XEP-0077 <remove/>
  {"cmd":"adhoc_list","to"} XEP-0050 commands (disco#items): {items: [{jid, node, name}]}
  {"cmd":"adhoc","to","node","fields"?:{var: value}} XEP-0050 execute; when a form comes back and
      "fields" is given, submit it (complete). {node, sessionid, status, actions, notes, forms, steps}
  {"cmd":"search","to","fields":{var: value}} XEP-0055 with slixmpp's xep_0055: a get for the form, then
      its submission as a data form (make_search_iq): {form (what was offered), legacy (the legacy field
      names offered), result (the result form: reported and items)}
  {"cmd":"mam","jid"?,"with"?,"start"?,"end"?,"max"?,"reverse"?,"max_pages"?} XEP-0313 with slixmpp's
      xep_0313 paging (RSM after/before, "max" per page, default 10; "jid" default the account): every
      page as {first, last, count, complete, results: [{id, queryid, stamp, from, to, type, msg_id,
      body, origin_id, stanza_id, stanza_id_by}]}, in the order received.
  connect also takes "origin_id" (true: slixmpp adds XEP-0359 <origin-id/> to every message) and
  "initial_presence" (default true; false: no presence at session start, send it with "presence").
  A message event also carries stanza_id and stanza_id_by (XEP-0359 <stanza-id/>, or null).
  (Additive, PEP) connect with "pep": true loads slixmpp's xep_0115 (caps in presence, so the server
  learns our +notify interests), xep_0060, xep_0163, xep_0084, xep_0048, xep_0223; "notify": [node]
  adds interests (xep_0163.add_interest). Then:
  {"cmd":"roster_ver","ver"?} a raw roster get with that version: {advertised (the rosterver stream
      feature), query (false: the empty result of RFC 6121 §2.6.3), ver, items}
  {"cmd":"pep_publish","node","payload" (XML text),"item_id"?,"options"?:{var: value}} xep_0060
      publish to our own PEP (publish-options when given): {item_id}
  {"cmd":"pep_items","node","max"?,"ids"?} xep_0060 get_items: {items: [{item_id, xml}]}
  {"cmd":"pep_retract","node","item_id","notify"?}
  {"cmd":"avatar_publish","data" (base64),"type","width"?,"height"?} xep_0084 data then metadata: {item_id}
  {"cmd":"bookmarks_set","method":"xep_0223"|"xep_0049","conferences":[{jid,name,autojoin,nick}]}
      xep_0048 in PEP (xep_0223) or private storage (xep_0049)
  {"cmd":"bookmarks_get","method"} xep_0048: {conferences}
  Event pep_event {node, kind: publish|retract, item_id, xml} for each PEP notification item.
  Field values: a string (split into lines for text-multi), a list of strings, or a boolean.
  Every iq command takes "timeout" (seconds, default 30).
Every command may carry "id"; its answer ({"event":"result"|"error","id",...}) echoes it; a
failing command (stanza error: condition, type, text, xml; or a Python exception) is an error
event, never a dead driver.
Events out, one JSON object per line: ready, connected, tls, auth {mechanism, offered},
session_start {jid, mechanism, sm_id}, sm_enabled {id, resume}, resumed, sm_failed,
message {from, body, type, id, delay, receipt_request, markable, state} (delay: the XEP-0203 stamp as
sent, or null; receipt_request: it carries a XEP-0184 <request/>; markable: XEP-0333; state: its XEP-0085
chat state or null), receipt {from, id} (XEP-0184 <received/>), marker {from, marker, id} (XEP-0333),
chat_state {from, state, body} (every message with a state; body: whether it had one),
presence {from, type, show, status} (availability only),
subscription {from, type, nick} (subscribe/subscribed/unsubscribe/unsubscribed; nick: XEP-0172 or null),
roster {items}, failed_auth, disconnected {reason}, result, error,
carbon_received / carbon_sent {from, to, body, type, id} (XEP-0280: the forwarded message; the
wrapper, from the user's bare JID, is also a message event with an empty body).
Logs (slixmpp's SEND/RECV at --log debug) go to stderr.
Files (upload, download, OOB): see driver_files.py.
"""
import asyncio
import base64
import json
import logging
import ssl
import sys
import traceback

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import driver_files

DELAY_NS = "urn:xmpp:delay"
MARKERS_NS = "urn:xmpp:chat-markers:0"
MARKERS = ("received", "displayed", "acknowledged")
NICK_NS = "http://jabber.org/protocol/nick"
DATA_NS = "jabber:x:data"
REGISTER_NS = "jabber:iq:register"
SUBSCRIPTION_TYPES = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")
SID_NS = "urn:xmpp:sid:0"
MAM_NS = "urn:xmpp:mam:2"
RSM_NS = "http://jabber.org/protocol/rsm"
FORWARD_NS = "urn:xmpp:forward:0"
CLIENT_NS = "jabber:client"
MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER_NS = "http://jabber.org/protocol/muc#user"


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class Client(ClientXMPP):
    def __init__(self, spec):
        super().__init__(spec["jid"], spec["password"], sasl_mech=spec.get("mechanism"))
        self.spec = spec
        self.target = (spec.get("host", "127.0.0.1"), int(spec.get("port", 5222)))
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0198")
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0050")
        # Client side of XEP-0077 only: no "register" event handler, so it never registers at login.
        self.register_plugin("xep_0077")
        self.register_plugin("xep_0359")
        self.register_plugin("xep_0313")
        # Client side of XEP-0055 (user search): no search service of our own.
        self.register_plugin("xep_0055", pconfig={"provide_search": False})
        if spec.get("origin_id"):
            self.use_origin_id = True
        self.register_plugin("xep_0085")
        self.register_plugin("xep_0184")
        self.register_plugin("xep_0333")
        self["xep_0184"].auto_ack = bool(spec.get("auto_receipts", True))
        # Carbons are off until the "carbons" command enables them.
        self.register_plugin("xep_0280")
        self.register_plugin("xep_0363")
        for plugin in ("xep_0047", "xep_0095", "xep_0096"):
            self.register_plugin(plugin)
        if spec.get("si_receive"):
            driver_files.si_receive(self, spec["si_receive"], emit)
        driver_files.trust_ca(spec.get("ca_file"))
        if spec.get("pep"):
            self.load_pep(spec.get("notify") or [])
        if "auto_authorize" in spec:
            self.roster.auto_authorize = spec["auto_authorize"]
        if "auto_subscribe" in spec:
            self.roster.auto_subscribe = bool(spec["auto_subscribe"])
        if spec.get("ca_file"):
            self.ca_certs = spec["ca_file"]
        if spec.get("tls_verify") is False:
            # get_ssl_context() only touches verification when ca_certs is set: leave it unset.
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler("connected", lambda _e: emit("connected"))
        self.add_event_handler("tls_success", lambda _e: emit("tls"))
        self.add_event_handler("ssl_invalid_chain", self.on_invalid_chain)
        self.add_event_handler("auth_success", self.on_auth)
        self.add_event_handler("failed_auth", lambda s: emit("failed_auth", condition=s["condition"], text=s["text"]))
        self.add_event_handler("failed_all_auth", lambda _e: emit("failed_all_auth"))
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("session_resumed", lambda _s: emit("resumed"))
        self.add_event_handler("sm_enabled", lambda s: emit("sm_enabled", id=s["id"] or None, resume=bool(s["resume"])))
        self.add_event_handler("sm_failed", lambda s: emit("sm_failed", xml=str(s)))
        self.add_event_handler("message", self.on_message)
        # slixmpp's "message" event needs a <body/>: a MUC subject (XEP-0045 §7.2.15) has none.
        self.register_handler(Callback("Subject", MatchXPath("{%s}message/{%s}subject" % (CLIENT_NS, CLIENT_NS)),
                                       lambda m: None if m["body"] else self.on_message(m)))
        # Nor has an error answer to a stanza without one (an invitation, XEP-0045 §7.8.2).
        self.register_handler(Callback("Bodiless error", MatchXPath("{%s}message/{%s}error" % (CLIENT_NS, CLIENT_NS)),
                                       lambda m: None if m["body"] else self.on_message(m)))
        self.add_event_handler("presence", self.on_presence)
        self.add_event_handler("receipt_received", lambda m: emit("receipt", **{"from": str(m["from"]), "id": m["receipt"]}))
        self.add_event_handler("marker", self.on_marker)
        self.add_event_handler("chatstate", lambda m: emit("chat_state", **{"from": str(m["from"]), "state": m["chat_state"],
                                                                             "body": bool(m["body"])}))
        self.add_event_handler("carbon_received", lambda m: self.on_carbon("carbon_received", m["carbon_received"]))
        self.add_event_handler("carbon_sent", lambda m: self.on_carbon("carbon_sent", m["carbon_sent"]))
        self.add_event_handler("stream_error", lambda s: emit("stream_error", condition=s["condition"], text=s["text"]))
        self.add_event_handler("connection_failed", lambda e: emit("connection_failed", reason=str(e)))
        self.add_event_handler("disconnected", lambda r: emit("disconnected", reason=str(r) if r else None))

    def load_pep(self, notify):
        # Caps first: they carry the +notify interests the other plugins add.
        for plugin in ("xep_0115", "xep_0060", "xep_0163", "xep_0084", "xep_0223", "xep_0048"):
            self.register_plugin(plugin)
        self.notify_nodes = list(notify)
        self.add_event_handler("pubsub_publish", lambda msg: self.on_pep(msg, "publish"))
        self.add_event_handler("pubsub_retract", lambda msg: self.on_pep(msg, "retract"))

    def on_pep(self, msg, kind):
        items = msg["pubsub_event"]["items"]
        node = items["node"]
        for el in items.xml:
            emit("pep_event", node=node, kind=kind, item_id=el.get("id"),
                 xml=ET.tostring(el, encoding="unicode"))

    def start(self):
        starttls = self.spec.get("starttls", "required")
        self.connect(
            address=self.target,
            force_starttls=starttls == "required",
            disable_starttls=starttls == "off",
        )

    def on_invalid_chain(self, err):
        emit("tls_invalid", reason=str(err))
        self.abort()

    def on_auth(self, _stanza):
        mech = self["feature_mechanisms"]
        emit("auth", mechanism=mech.mech.name if mech.mech else None, offered=sorted(mech.mech_list))

    async def on_session_start(self, _event):
        mech = self["feature_mechanisms"].mech
        emit("session_start", jid=str(self.boundjid), mechanism=mech.name if mech else None,
             sm_id=self["xep_0198"].sm_id)
        if getattr(self, "notify_nodes", None):
            # Interests once bound (what xep_0163.add_interest does), and caps recomputed before
            # the presence that carries them, so the server learns them from its first disco#info.
            for node in self.notify_nodes:
                self["xep_0030"].add_feature("%s+notify" % node)
            await self["xep_0115"].update_caps(broadcast=False)
        if self.spec.get("oob") is False:
            # As libpurple: jabber:iq:oob only, no XEP-0066 in messages (xep_0363 loads xep_0066, which adds both).
            self["xep_0030"].del_feature(feature=driver_files.OOB_NS)
        if self.spec.get("initial_presence", True):
            self.send_presence(ppriority=self.spec.get("priority"))

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal", "headline", "error", "groupchat"):
            # The stamp as the server wrote it: tests compare it, slixmpp's datetime would reformat it.
            delay = msg.xml.find("{%s}delay" % DELAY_NS)
            sid = msg.xml.find("{%s}stanza-id" % SID_NS)
            emit("message", **{"from": str(msg["from"]), "body": msg["body"], "type": msg["type"], "id": msg["id"],
                               "delay": delay.get("stamp") if delay is not None else None,
                               "stanza_id": sid.get("id") if sid is not None else None,
                               "stanza_id_by": sid.get("by") if sid is not None else None,
                               "receipt_request": bool(msg["request_receipt"]),
                               "markable": msg.xml.find("{%s}markable" % MARKERS_NS) is not None,
                               "state": msg["chat_state"] or None,
                               "oob_url": driver_files.oob_url(msg),
                               "subject": msg.xml.findtext("{%s}subject" % CLIENT_NS)})

    def on_marker(self, msg):
        for marker in MARKERS:
            el = msg.xml.find("{%s}%s" % (MARKERS_NS, marker))
            if el is not None:
                emit("marker", **{"from": str(msg["from"]), "marker": marker, "id": el.get("id"), "type": msg["type"]})

    def on_carbon(self, event, inner):
        emit(event, **{"from": str(inner["from"]), "to": str(inner["to"]), "body": inner["body"],
                       "type": inner["type"], "id": inner["id"]})

    def on_presence(self, pres):
        if pres["type"] in SUBSCRIPTION_TYPES:
            nick = pres.xml.find("{%s}nick" % NICK_NS)
            emit("subscription", **{"from": str(pres["from"]), "type": pres["type"],
                                    "nick": (nick.text or "") if nick is not None else None})
            return
        muc = pres.xml.find("{%s}x" % MUC_USER_NS)
        err = pres.xml.find("{%s}error" % CLIENT_NS)
        emit("presence", **{"from": str(pres["from"]), "type": pres["type"], "show": pres["show"],
                            "status": pres["status"],
                            "muc_codes": [s.get("code") for s in muc.findall("{%s}status" % MUC_USER_NS)] if muc is not None else None,
                            "muc_role": muc.find("{%s}item" % MUC_USER_NS).get("role") if muc is not None and muc.find("{%s}item" % MUC_USER_NS) is not None else None,
                            "error": ET.tostring(err, encoding="unicode") if err is not None else None})


def data_forms(parent):
    """The jabber:x:data forms (XEP-0004) directly under a stanza element, as slixmpp Forms."""
    return [Form(xml=el) for el in parent.xml.findall("{%s}x" % DATA_NS)]


def field_value(field):
    value = field.get_value()
    # slixmpp reads hidden fields as lists; FORM_TYPE and friends carry one value.
    if field["type"] == "hidden" and isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def form_json(form):
    """A data form as plain JSON."""
    fields = []
    for var, field in form.get_fields().items():
        fields.append({
            "var": var or None,
            "type": field["type"] or "text-single",
            "label": field["label"] or None,
            "required": bool(field["required"]),
            "value": field_value(field),
            "options": [{"label": o["label"] or None, "value": o["value"]} for o in field["options"]],
        })
    out = {"type": form["type"], "title": form["title"] or None,
           "instructions": form["instructions"] or None, "fields": fields}
    if form.xml.find("{%s}reported" % DATA_NS) is not None:
        out["reported"] = list(form.get_reported().keys())
        out["items"] = form.get_items()
    return out


def coerce(ftype, value):
    """A JSON field value as slixmpp's FormField takes it for that field type."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return value if ftype == "boolean" else ("1" if value else "0")
    return "" if value is None else str(value)


def submit_form(client, offered, values, form_type=None):
    """The answer to `offered`, as sent by a client whose user filled in `values` and pressed OK:
    each offered field with its given value or the default it came with (none: left out), then
    given fields the form did not offer; FORM_TYPE set to `form_type` when the form lacks it."""
    form = client["xep_0004"].make_form(ftype="submit")
    offered_fields = offered.get_fields() if offered is not None else {}
    for var, field in offered_fields.items():
        ftype = field["type"] or None
        if not var or ftype == "fixed":
            continue
        if var in values:
            value = values[var]
        else:
            value = field.get_value(convert=False)
            if value is None or value == []:
                continue
        form.add_field(var=var, ftype=ftype, value=coerce(ftype, value))
    for var, value in values.items():
        if var not in offered_fields:
            ftype = "text-multi" if isinstance(value, list) else None
            form.add_field(var=var, ftype=ftype, value=coerce(ftype, value))
    if form_type and "FORM_TYPE" not in form.get_fields():
        form.add_field(var="FORM_TYPE", ftype="hidden", value=form_type)
    return form


def register_json(iq):
    reg = iq["register"]
    legacy = []
    for el in reg.xml:
        local = el.tag.split("}", 1)[-1]
        if el.tag.startswith("{%s}" % REGISTER_NS) and local in reg.form_fields:
            legacy.append({"name": local, "value": el.text or ""})
    forms = data_forms(reg)
    return {
        "from": str(iq["from"]),
        "instructions": reg["instructions"] or None,
        "fields": legacy,
        "form": form_json(forms[0]) if forms else None,
        "registered": bool(reg["registered"]),
    }


def command_json(iq):
    command = iq["command"]
    return {
        "node": command["node"],
        "sessionid": command["sessionid"] or None,
        "status": command["status"],
        "actions": sorted(command["actions"]),
        "notes": [{"type": t, "text": text} for (t, text) in command["notes"]],
        "forms": [form_json(f) for f in data_forms(command)],
    }


def mam_page_json(page):
    """One XEP-0313 page (the iq result with its <fin/>, and the result messages slixmpp collected)."""
    fin = page.xml.find("{%s}fin" % MAM_NS)
    rsm_set = fin.find("{%s}set" % RSM_NS) if fin is not None else None

    def rsm(tag):
        el = rsm_set.find("{%s}%s" % (RSM_NS, tag)) if rsm_set is not None else None
        return el.text if el is not None else None

    results = []
    for msg in page["mam_fin"]["results"]:
        res = msg.xml.find("{%s}result" % MAM_NS)
        fwd = res.find("{%s}forwarded" % FORWARD_NS)
        delay = fwd.find("{%s}delay" % DELAY_NS)
        inner = fwd.find("{%s}message" % CLIENT_NS)
        body = inner.find("{%s}body" % CLIENT_NS)
        origin = inner.find("{%s}origin-id" % SID_NS)
        sid = inner.find("{%s}stanza-id" % SID_NS)
        results.append({
            "id": res.get("id"), "queryid": res.get("queryid"),
            "stamp": delay.get("stamp") if delay is not None else None,
            "from": inner.get("from"), "to": inner.get("to"), "type": inner.get("type"), "msg_id": inner.get("id"),
            "body": body.text if body is not None else None,
            "origin_id": origin.get("id") if origin is not None else None,
            "stanza_id": sid.get("id") if sid is not None else None,
            "stanza_id_by": sid.get("by") if sid is not None else None,
        })
    count = rsm("count")
    return {"first": rsm("first"), "last": rsm("last"), "count": int(count) if count is not None else None,
            "complete": fin is not None and fin.get("complete") in ("true", "1"), "results": results}


class Driver:
    def __init__(self):
        self.client = None

    async def handle(self, cmd):
        name = cmd.get("cmd")
        rid = cmd.get("id")
        try:
            handler = getattr(self, "cmd_" + str(name), None)
            if handler is None:
                raise ValueError(f"unknown command {name!r}")
            if self.client is None and name != "connect":
                emit("error", id=rid, cmd=name, error="not connected")
                return
            result = await handler(cmd)
            emit("result", id=rid, cmd=name, **(result or {}))
        except IqError as e:
            iq = e.iq
            emit("error", id=rid, cmd=name, error="iq error", condition=iq["error"]["condition"],
                 type=iq["error"]["type"], text=iq["error"]["text"], xml=str(iq))
        except IqTimeout:
            emit("error", id=rid, cmd=name, error="iq timeout")
        except asyncio.CancelledError:
            # A pending iq dropped at disconnect: still an answer, so no test waits forever.
            emit("error", id=rid, cmd=name, error="cancelled")
        except Exception as e:  # noqa: BLE001 - every failure must reach the test as an event
            emit("error", id=rid, cmd=name, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())

    async def cmd_connect(self, cmd):
        self.client = Client(cmd)
        self.client.start()

    async def cmd_reconnect(self, _cmd):
        self.client.connect(address=self.client.target)

    async def cmd_send(self, cmd):
        msg = self.client.make_message(mto=cmd["to"], mbody=cmd["body"], mtype=cmd.get("type", "chat"))
        msg["id"] = cmd.get("msg_id") or msg["id"] or self.client.new_id()
        if cmd.get("receipt"):
            msg["request_receipt"] = True
        if cmd.get("markable"):
            msg.enable("markable")
        if cmd.get("state"):
            msg["chat_state"] = cmd["state"]
        if cmd.get("oob_url"):
            driver_files.add_oob(msg, cmd["oob_url"])
        msg.send()
        return {"msg_id": msg["id"]}

    async def cmd_marker(self, cmd):
        if cmd["marker"] == "receipt":
            # What slixmpp's xep_0184 auto_ack sends.
            ack = self.client.make_message(mto=cmd["to"])
            ack["receipt"] = cmd["msg_id"]
            ack.send()
        elif cmd.get("type"):
            # A typed marker (XEP-0333 in a MUC: type groupchat, naming the room's stanza-id).
            msg = self.client.make_message(mto=cmd["to"], mtype=cmd["type"])
            msg[cmd["marker"]]["id"] = cmd["msg_id"]
            msg.send()
        else:
            self.client["xep_0333"].send_marker(cmd["to"], cmd["msg_id"], cmd["marker"])

    async def cmd_chat_state(self, cmd):
        msg = self.client.make_message(mto=cmd["to"], mtype="chat")
        msg["chat_state"] = cmd["state"]
        msg.send()

    async def cmd_presence(self, cmd):
        self.client.send_presence(pto=cmd.get("to"), ptype=cmd.get("type"), ppriority=cmd.get("priority"))

    async def cmd_muc_join(self, cmd):
        # XEP-0045 §7.2.2: presence to room/nick with <x xmlns=muc/> (raw: no slixmpp MUC plugin state).
        pres = self.client.make_presence(pto=cmd["to"])
        x = ET.SubElement(pres.xml, "{%s}x" % MUC_NS)
        # XEP-0045 §7.2.14: <history maxchars maxstanzas seconds since/>, attributes as given.
        if cmd.get("history") is not None:
            ET.SubElement(x, "{%s}history" % MUC_NS, {k: str(v) for k, v in cmd["history"].items()})
        pres.send()

    async def cmd_muc_invite(self, cmd):
        # XEP-0045 §7.8.2: a mediated invitation, sent to the room.
        msg = self.client.make_message(mto=cmd["room"])
        x = ET.SubElement(msg.xml, "{%s}x" % MUC_USER_NS)
        inv = ET.SubElement(x, "{%s}invite" % MUC_USER_NS, {"to": cmd["to"]})
        if cmd.get("reason"):
            ET.SubElement(inv, "{%s}reason" % MUC_USER_NS).text = cmd["reason"]
        msg.send()

    async def cmd_direct_invite(self, cmd):
        # XEP-0249: the invitation goes to the contact itself, naming the room (as Gajim, Dino, Conversations do).
        msg = self.client.make_message(mto=cmd["to"], mtype="normal")
        attrs = {"jid": cmd["room"], **({"reason": cmd["reason"]} if cmd.get("reason") else {})}
        ET.SubElement(msg.xml, "{jabber:x:conference}x", attrs)
        msg.send()

    async def cmd_carbons(self, cmd):
        carbons = self.client["xep_0280"]
        toggle = carbons.enable if cmd.get("enable", True) else carbons.disable
        iq = await toggle(timeout=cmd.get("timeout", 30))
        return {"type": iq["type"]}

    async def cmd_ping(self, cmd):
        to = cmd.get("to") or self.client.boundjid.host
        iq = await self.client["xep_0199"].send_ping(to, timeout=cmd.get("timeout", 30))
        return {"type": iq["type"], "from": str(iq["from"])}

    async def cmd_disco_info(self, cmd):
        iq = await self.client["xep_0030"].get_info(jid=cmd["to"], node=cmd.get("node"), local=False,
                                                     cached=False, timeout=cmd.get("timeout", 30))
        info = iq["disco_info"]
        return {
            "from": str(iq["from"]),
            "identities": [{"category": c, "type": t, "name": n, "lang": l} for (c, t, l, n) in info["identities"]],
            "features": sorted(info["features"]),
        }

    async def cmd_disco_items(self, cmd):
        iq = await self.client["xep_0030"].get_items(jid=cmd["to"], node=cmd.get("node"), local=False,
                                                      timeout=cmd.get("timeout", 30))
        return {"from": str(iq["from"]),
                "items": [{"jid": str(j), "node": n, "name": name} for (j, n, name) in iq["disco_items"]["items"]]}

    async def cmd_roster(self, cmd):
        # An empty version asks for the whole roster (RFC 6121 §2.6.3): with the version slixmpp
        # learnt from pushes, a server with roster versioning answers "nothing new", no items.
        self.client.client_roster.version = ""
        iq = await self.client.get_roster(timeout=cmd.get("timeout", 30))
        items = []
        for jid, item in iq["roster"]["items"].items():
            items.append({"jid": str(jid), "name": item["name"], "subscription": item["subscription"],
                          "ask": item["ask"] or None, "groups": list(item["groups"])})
        emit("roster", items=items)
        return {"items": items}

    async def cmd_register_form(self, cmd):
        iq = await self.client["xep_0077"].get_registration(jid=cmd["to"], timeout=cmd.get("timeout", 30))
        return register_json(iq)

    async def cmd_register(self, cmd):
        timeout = cmd.get("timeout", 30)
        values = cmd.get("fields") or {}
        got = await self.client["xep_0077"].get_registration(jid=cmd["to"], timeout=timeout)
        offered = register_json(got)
        iq = self.client.Iq()
        iq["type"] = "set"
        iq["to"] = cmd["to"]
        reg = iq["register"]
        forms = data_forms(got["register"])
        if forms:
            # XEP-0077 §6: when the server offers a data form, the filled form is the answer.
            reg.append(submit_form(self.client, forms[0], values, form_type=REGISTER_NS))
            submitted = "form"
        else:
            for name, value in values.items():
                el = reg.xml.makeelement("{%s}%s" % (REGISTER_NS, name), {})
                el.text = "\n".join(coerce(None, value)) if isinstance(value, list) else coerce(None, value)
                reg.xml.append(el)
            submitted = "legacy"
        await iq.send(timeout=timeout)
        return {**offered, "was_registered": offered["registered"], "submitted": submitted, "registered": True}

    async def cmd_unregister(self, cmd):
        iq = await self.client["xep_0077"].cancel_registration(jid=cmd["to"], timeout=cmd.get("timeout", 30))
        return {"from": str(iq["from"])}

    async def cmd_adhoc_list(self, cmd):
        iq = await self.client["xep_0050"].get_commands(jid=cmd["to"], local=False, timeout=cmd.get("timeout", 30))
        return {"items": [{"jid": str(j), "node": n, "name": name}
                          for (j, n, name) in iq["disco_items"]["items"]]}

    async def cmd_adhoc(self, cmd):
        timeout = cmd.get("timeout", 30)
        adhoc = self.client["xep_0050"]
        iq = await adhoc.send_command(cmd["to"], cmd["node"], action="execute", timeout=timeout)
        steps = 1
        values = cmd.get("fields")
        command = iq["command"]
        forms = data_forms(command)
        if command["status"] == "executing" and forms and values is not None:
            actions = command["actions"]
            action = "complete" if "complete" in actions or not actions else "next"
            iq = await adhoc.send_command(cmd["to"], cmd["node"], action=action, sessionid=command["sessionid"],
                                          payload=submit_form(self.client, forms[0], values), timeout=timeout)
            steps += 1
        return {**command_json(iq), "steps": steps}

    async def cmd_search(self, cmd):
        timeout = cmd.get("timeout", 30)
        get = self.client.make_iq_get(queryxmlns="jabber:iq:search", ito=cmd["to"])
        offered = await get.send(timeout=timeout)
        forms = data_forms(offered["search"])
        legacy = [el.tag.split("}", 1)[-1] for el in offered["search"].xml if el.tag.split("}", 1)[-1] in ("first", "last", "nick", "email")]
        iq = self.client["xep_0055"].make_search_iq(ito=cmd["to"])
        for var, value in (cmd.get("fields") or {}).items():
            iq["search"]["form"].add_field(var=var, value=coerce(None, value))
        reply = await iq.send(timeout=timeout)
        results = data_forms(reply["search"])
        return {"form": form_json(forms[0]) if forms else None, "legacy": legacy,
                "result": form_json(results[0]) if results else None}

    async def cmd_mam(self, cmd):
        client = self.client
        archive = cmd.get("jid") or client.boundjid.bare
        pages = []
        iterator = client["xep_0313"].retrieve(
            jid=archive, start=cmd.get("start"), end=cmd.get("end"),
            with_jid=cmd.get("with"), reverse=bool(cmd.get("reverse")), iterator=True,
            rsm={"max": int(cmd.get("max", 10))})
        async for page in iterator:
            pages.append(mam_page_json(page))
            if len(pages) >= int(cmd.get("max_pages", 100)):
                break
        return {"pages": pages}
    async def cmd_roster_ver(self, cmd):
        iq = self.client.Iq()
        iq["type"] = "get"
        iq.enable("roster")
        iq["roster"]["ver"] = cmd.get("ver", "")
        reply = await iq.send(timeout=cmd.get("timeout", 30))
        query = reply.xml.find("{jabber:iq:roster}query")
        items = [{"jid": str(jid), "name": item["name"]} for jid, item in reply["roster"]["items"].items()]
        return {"advertised": "rosterver" in self.client.features, "query": query is not None,
                "ver": query.get("ver") if query is not None else None, "items": items}

    def publish_options(self, options):
        if not options:
            return None
        return submit_form(self.client, None, options, form_type="http://jabber.org/protocol/pubsub#publish-options")

    async def cmd_pep_publish(self, cmd):
        iq = await self.client["xep_0060"].publish(
            None, cmd["node"], id=cmd.get("item_id"), payload=ET.fromstring(cmd["payload"]),
            options=self.publish_options(cmd.get("options")), timeout=cmd.get("timeout", 30))
        return {"item_id": iq["pubsub"]["publish"]["item"]["id"]}

    async def cmd_pep_items(self, cmd):
        iq = await self.client["xep_0060"].get_items(
            None, cmd["node"], item_ids=cmd.get("ids"), max_items=cmd.get("max"), timeout=cmd.get("timeout", 30))
        items = iq.xml.find("{http://jabber.org/protocol/pubsub}pubsub/{http://jabber.org/protocol/pubsub}items")
        return {"items": [{"item_id": el.get("id"), "xml": ET.tostring(el, encoding="unicode")} for el in (items if items is not None else [])]}

    async def cmd_pep_retract(self, cmd):
        await self.client["xep_0060"].retract(None, cmd["node"], cmd["item_id"], notify=cmd.get("notify"),
                                              timeout=cmd.get("timeout", 30))

    async def cmd_avatar_publish(self, cmd):
        data = base64.b64decode(cmd["data"])
        avatar = self.client["xep_0084"]
        await avatar.publish_avatar(data, timeout=cmd.get("timeout", 30))
        # Attribute values as text: slixmpp's serializer takes no ints.
        info = {"id": avatar.generate_id(data), "type": cmd["type"], "bytes": str(len(data))}
        for key in ("width", "height"):
            if key in cmd:
                info[key] = str(cmd[key])
        await avatar.publish_avatar_metadata(info, timeout=cmd.get("timeout", 30))
        return {"item_id": info["id"]}

    async def cmd_bookmarks_set(self, cmd):
        bookmarks = self.client["xep_0048"].stanza.Bookmarks()
        for c in cmd.get("conferences", []):
            bookmarks.add_conference(c["jid"], c.get("nick", ""), name=c.get("name", ""),
                                     autojoin=bool(c.get("autojoin")))
        await self.client["xep_0048"].set_bookmarks(bookmarks, method=cmd["method"], timeout=cmd.get("timeout", 30))

    async def cmd_bookmarks_get(self, cmd):
        iq = await self.client["xep_0048"].get_bookmarks(method=cmd["method"], timeout=cmd.get("timeout", 30))
        if cmd["method"] == "xep_0223":
            bookmarks = iq["pubsub"]["items"]["item"]["bookmarks"]
        else:
            bookmarks = iq["private"]["bookmarks"]
        return {"conferences": [{"jid": str(c["jid"]), "name": c["name"], "autojoin": bool(c["autojoin"]),
                                 "nick": c["nick"]} for c in bookmarks["conferences"]]}

    async def cmd_upload(self, cmd):
        return await driver_files.upload(self.client, cmd)

    async def cmd_si_send(self, cmd):
        return await driver_files.si_send(self.client, cmd)

    async def cmd_download(self, cmd):
        return await driver_files.download(cmd, self.client.spec.get("ca_file"))

    async def cmd_disconnect(self, cmd):
        await self.client.disconnect(wait=cmd.get("wait", 5))

    async def cmd_drop_tcp(self, _cmd):
        transport = self.client.transport
        if transport is None:
            raise RuntimeError("no transport to drop")
        # abort(): no </stream:stream>, no TLS close_notify; the socket is reset.
        transport.abort()


async def main():
    level = "info"
    if "--log" in sys.argv:
        level = sys.argv[sys.argv.index("--log") + 1]
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = asyncio.get_running_loop()
    # Commands may carry long bodies (a test of a size limit): 1 MiB lines, not asyncio's 64 KiB.
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    driver = Driver()
    emit("ready", slixmpp=__import__("slixmpp").__version__)
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError as e:
            emit("error", error=f"bad JSON: {e}")
            continue
        if not isinstance(cmd, dict):
            emit("error", error="bad command: not a JSON object")
            continue
        if cmd.get("cmd") == "exit":
            break
        # Commands run concurrently: a ping must not wait behind a slow disco.
        task = asyncio.ensure_future(driver.handle(cmd))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if driver.client is not None and driver.client.transport is not None:
        driver.client.abort()


if __name__ == "__main__":
    asyncio.run(main())
