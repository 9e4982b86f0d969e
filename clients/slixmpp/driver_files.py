"""Files for the slixmpp driver (driver.py): XEP-0363 upload with slixmpp's own xep_0363 plugin (aiohttp, as
Debian's python3-aiohttp), downloads of a GET URL, and XEP-0066 OOB in messages.

  {"cmd":"upload","path","content_type"?,"domain"?}  xep_0363.upload_file (service found by disco):
      {url, service, max_file_size}
  {"cmd":"download","url"}  GET with aiohttp: {status, size, sha256, content_type, disposition, csp}
  send takes "oob_url": a <x xmlns='jabber:x:oob'><url/></x> with the body; a message event carries
  oob_url (the first OOB URL, or null).
HTTPS is verified against the connect command's ca_file (the gateway's local CA), never switched off.
"""
import hashlib
import os
import ssl

from aiohttp import ClientSession, ClientTimeout
from slixmpp.xmlstream import ET

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
