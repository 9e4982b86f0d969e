#!/usr/bin/python3
"""A slixmpp client driven over stdin/stdout with JSON lines, for interop tests.

Run with Debian's /usr/bin/python3 (python3-slixmpp 1.8). One JSON object per line in:
  {"cmd":"connect","jid","password","host","port","mechanism"?,"ca_file"?,"tls_verify"?,"starttls"?}
  {"cmd":"send","to","body","type"?}   {"cmd":"ping","to"?}   {"cmd":"disco_info","to","node"?}
  {"cmd":"roster"}   {"cmd":"presence","to"?,"type"?}   {"cmd":"disconnect"}
  {"cmd":"drop_tcp"} (abort the TCP connection, no </stream>: the session stays resumable)
  {"cmd":"reconnect"} (connect again; XEP-0198 resumes the session if the server allows)
Every command may carry "id"; its answer ({"event":"result"|"error","id",...}) echoes it.
Events out, one JSON object per line: ready, connected, tls, auth {mechanism, offered},
session_start {jid, mechanism, sm_id}, sm_enabled {id, resume}, resumed, sm_failed,
message {from, body, type, id}, presence {from, type, show, status}, roster {items},
failed_auth, disconnected {reason}, result, error.
Logs (slixmpp's SEND/RECV at --log debug) go to stderr.
"""
import asyncio
import json
import logging
import ssl
import sys
import traceback

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout


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
        self.add_event_handler("presence", self.on_presence)
        self.add_event_handler("stream_error", lambda s: emit("stream_error", condition=s["condition"], text=s["text"]))
        self.add_event_handler("connection_failed", lambda e: emit("connection_failed", reason=str(e)))
        self.add_event_handler("disconnected", lambda r: emit("disconnected", reason=str(r) if r else None))

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
        self.send_presence()

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal", "headline", "error"):
            emit("message", **{"from": str(msg["from"]), "body": msg["body"], "type": msg["type"], "id": msg["id"]})

    def on_presence(self, pres):
        emit("presence", **{"from": str(pres["from"]), "type": pres["type"], "show": pres["show"],
                            "status": pres["status"]})


class Driver:
    def __init__(self):
        self.client = None

    async def handle(self, cmd):
        name = cmd.get("cmd")
        rid = cmd.get("id")
        try:
            result = await getattr(self, "cmd_" + str(name))(cmd)
            emit("result", id=rid, cmd=name, **(result or {}))
        except AttributeError as e:
            if self.client is None and name != "connect":
                emit("error", id=rid, cmd=name, error="not connected")
            else:
                emit("error", id=rid, cmd=name, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())
        except IqError as e:
            iq = e.iq
            emit("error", id=rid, cmd=name, error="iq error", condition=iq["error"]["condition"],
                 type=iq["error"]["type"], text=iq["error"]["text"], xml=str(iq))
        except IqTimeout:
            emit("error", id=rid, cmd=name, error="iq timeout")
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
        msg.send()
        return {"msg_id": msg["id"]}

    async def cmd_presence(self, cmd):
        self.client.send_presence(pto=cmd.get("to"), ptype=cmd.get("type"))

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

    async def cmd_roster(self, cmd):
        iq = await self.client.get_roster(timeout=cmd.get("timeout", 30))
        items = []
        for jid, item in iq["roster"]["items"].items():
            items.append({"jid": str(jid), "name": item["name"], "subscription": item["subscription"],
                          "ask": item["ask"] or None, "groups": list(item["groups"])})
        emit("roster", items=items)
        return {"items": items}

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
    reader = asyncio.StreamReader()
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
