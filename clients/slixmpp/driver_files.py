"""Files for the slixmpp driver (driver.py): XEP-0363 upload with slixmpp's own xep_0363 plugin (aiohttp, as
Debian's python3-aiohttp), downloads of a GET URL, and XEP-0066 OOB in messages.

  {"cmd":"upload","path","content_type"?,"domain"?}  xep_0363.upload_file (service found by disco):
      {url, service, max_file_size}
  {"cmd":"download","url"}  GET with aiohttp: {status, size, sha256, content_type, disposition, csp}
  {"cmd":"si_send","to","path","content_type"?}  Pidgin's way: XEP-0096 offer (methods bytestreams and IBB, as
      libpurple offers them), then XEP-0047 in-band bytes with slixmpp's xep_0095/xep_0047: {method, sid}
  connect takes "si_receive": {"dir", "answer": "accept"|"decline"|"ignore"} (files offered to us, XEP-0096 with
      xep_0095/xep_0047): each offer is an event si_offer {from, sid, name, size, hash (XEP-0300 sha-256, base64, or
      null), mime_type}; accepted, the bytes go to dir/<name> and an event si_received {from, sid, size, sha256,
      path} follows (si_failed {sid, error} if the stream ends otherwise). Our disco#info names jabber:x:oob (xep_0363
      loads xep_0066), as Conversations', Gajim's and Dino's do; connect with "oob": false takes it out (as libpurple's).
  send takes "oob_url": a <x xmlns='jabber:x:oob'><url/></x> with the body; a message event carries
  oob_url (the first OOB URL, or null).
HTTPS is verified against the connect command's ca_file (the gateway's local CA), never switched off.
"""
import asyncio
import hashlib
import os
import ssl
import uuid

from aiohttp import ClientSession, ClientTimeout
from slixmpp.plugins.xep_0096 import File
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

OOB_NS = "jabber:x:oob"
UPLOAD_NS = "urn:xmpp:http:upload:0"


def trust_ca(ca_file):
    """aiohttp verifies with the default context, which reads SSL_CERT_FILE when first made."""
    if ca_file:
        os.environ["SSL_CERT_FILE"] = ca_file


def add_oob(msg, url):
    x = ET.SubElement(msg.xml, "{%s}x" % OOB_NS)
    ET.SubElement(x, "{%s}url" % OOB_NS).text = url


def oob_url(msg):
    el = msg.xml.find("{%s}x/{%s}url" % (OOB_NS, OOB_NS))
    return el.text if el is not None else None


async def find_service(client, domain, timeout):
    """What xep_0363.find_upload_service does: the domain's disco#info, then its items' (store/file identity
    and the feature), with the max-file-size of the XEP-0128 form.
    COMPAT(slixmpp 1.8 on Python 3.11+): its get_info_from_domain hands coroutines to asyncio.wait, which
    raises TypeError, so the same walk is done here, one disco request at a time."""
    disco = client["xep_0030"]
    items = await disco.get_items(jid=domain, timeout=timeout)
    for jid in [domain] + [item[0] for item in items["disco_items"]["items"]]:
        info = (await disco.get_info(jid=jid, local=False, cached=False, timeout=timeout))["disco_info"]
        if not any(i[0] == "store" and i[1] == "file" for i in info["identities"]):
            continue
        if UPLOAD_NS not in info["features"]:
            continue
        max_size = float("+inf")
        for form in info.iterables:
            values = form["values"] if "values" in form.interfaces else {}
            if values.get("FORM_TYPE") == [UPLOAD_NS]:
                max_size = int(values["max-file-size"])
        return jid, max_size
    return None, None


async def upload(client, cmd):
    plugin = client["xep_0363"]
    timeout = cmd.get("timeout", 120)
    if plugin.upload_service is None:
        service, max_size = await find_service(client, cmd.get("domain") or client.boundjid.domain, timeout)
        if service is None:
            raise RuntimeError("no upload service found by disco")
        plugin.upload_service, plugin.max_file_size = service, max_size
    url = await plugin.upload_file(cmd["path"], content_type=cmd.get("content_type"),
                                   domain=cmd.get("domain"), timeout=cmd.get("timeout", 120))
    return {"url": url, "service": str(plugin.upload_service), "max_file_size": plugin.max_file_size}


async def download(cmd, ca_file):
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    digest = hashlib.sha256()
    size = 0
    async with ClientSession(timeout=ClientTimeout(total=cmd.get("timeout", 120))) as session:
        async with session.get(cmd["url"], ssl=ctx) as resp:
            async for chunk in resp.content.iter_chunked(1 << 16):
                digest.update(chunk)
                size += len(chunk)
            return {"status": resp.status, "size": size, "sha256": digest.hexdigest(),
                    "content_type": resp.headers.get("Content-Type"),
                    "disposition": resp.headers.get("Content-Disposition"),
                    "csp": resp.headers.get("Content-Security-Policy")}


IBB_NS = "http://jabber.org/protocol/ibb"
SOCKS5_NS = "http://jabber.org/protocol/bytestreams"


HASHES_NS = "urn:xmpp:hashes:2"
# Bytes taken in band for one offer, at most (the gateway's own limit is far lower in tests).
MAX_SI_BYTES = 64 << 20


def si_receive(client, spec, emit):
    """Files offered to us the Pidgin way: every offer is told (emit); accepted ones are written to spec["dir"]."""

    async def on_request(iq):
        sender, sid, f = iq["from"], iq["si"]["id"], iq["si"]["file"]
        hash_el = f.xml.find("{%s}hash" % HASHES_NS)
        emit("si_offer", **{"from": str(sender), "sid": sid, "name": f["name"], "size": int(f["size"] or 0),
                            "hash": hash_el.text if hash_el is not None and hash_el.get("algo") == "sha-256" else None,
                            "mime_type": iq["si"]["mime_type"] or None})
        answer = spec.get("answer", "accept")
        if answer == "decline":
            await client["xep_0095"].decline(sender, sid)
        if answer != "accept":
            return
        path = os.path.join(spec["dir"], os.path.basename(f["name"]) or sid)

        def on_stream(stream):
            async def take():
                try:
                    data = await stream.gather(max_data=MAX_SI_BYTES, timeout=spec.get("timeout", 120))
                    with open(path, "wb") as out:
                        out.write(data)
                    emit("si_received", **{"from": str(sender), "sid": sid, "size": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest(), "path": path})
                except Exception as e:  # noqa: BLE001 - every failure must reach the test as an event
                    emit("si_failed", sid=sid, error=f"{type(e).__name__}: {e}")
            asyncio.ensure_future(take())
        await client["xep_0095"].accept(sender, sid, stream_handler=on_stream)

    client.add_event_handler("si_request", on_request)
    # COMPAT(slixmpp 1.8): xep_0095 registers its coroutine _handle_request as a plain Callback, so it is never
    # awaited and no offer is ever seen; the same handler again, as a coroutine one.
    client.remove_handler("SI Request")
    client.register_handler(CoroutineCallback("SI Request", StanzaPath("iq@type=set/si"),
                                              client["xep_0095"]._handle_request))


async def si_send(client, cmd):
    with open(cmd["path"], "rb") as f:
        data = f.read()
    sid = uuid.uuid4().hex
    timeout = cmd.get("timeout", 60)
    # COMPAT(slixmpp 1.8): xep_0095.offer hands the methods to xep_0004 as strings where it wants {"value": ...}
    # (TypeError), so the offer request_file_transfer makes is built here, the same stanza with options that work.
    offer = client.Iq()
    offer["to"] = cmd["to"]
    offer["type"] = "set"
    offer["si"]["id"] = sid
    offer["si"]["mime_type"] = cmd.get("content_type")
    offer["si"]["profile"] = File.namespace
    desc = File()
    desc["name"] = os.path.basename(cmd["path"])
    desc["size"] = len(data)
    offer["si"].append(desc)
    offer["si"]["feature_neg"]["form"].add_field(var="stream-method", ftype="list-single",
                                                 options=[{"value": SOCKS5_NS}, {"value": IBB_NS}])
    iq = await offer.send(timeout=timeout)
    method = iq["si"]["feature_neg"]["form"].get_fields()["stream-method"]["value"]
    if method != IBB_NS:
        raise RuntimeError(f"the receiver chose {method!r}, not in-band bytestreams")
    stream = await client["xep_0047"].open_stream(cmd["to"], sid=sid, block_size=cmd.get("block_size", 4096),
                                                  timeout=timeout)
    await stream.sendall(data, timeout=timeout)
    await stream.close(timeout=timeout)
    return {"method": method, "sid": sid}
