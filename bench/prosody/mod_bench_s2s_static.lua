-- Static s2s routes for the benchmark's two loopback Prosodies.
-- Debian's Prosody 0.12 finds a remote server only through DNS (SRV _xmpp-server._tcp, then
-- A/AAAA on port 5269) and has no per-domain "connect to this address" option (that is the
-- community module mod_s2soutinjection, not packaged by Debian). We must not edit /etc/hosts on a
-- shared machine, and two servers on one loopback address need two ports, which only SRV could
-- say. So this plugin answers the s2s lookup for the domains listed in `bench_s2s_routes`
-- ({ ["b.localhost"] = { "127.0.0.1", 15269 } }) and leaves every other domain to DNS.
-- TLS, stream negotiation and dialback are untouched.
local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";
local manual = require "net.resolvers.manual";

local routes = module:get_option("bench_s2s_routes", {});

if not service._bench_static then
	local original = service.new;
	service._bench_static = true;
	service.new = function (hostname, svc, conn_type, extra)
		local route = routes[hostname];
		if route and svc == "xmpp-server" then
			module:log("debug", "static s2s route for %s: %s port %d", hostname, route[1], route[2]);
			return basic.new(route[1], route[2], conn_type, extra);
		elseif route then
			return manual.new({}, conn_type, extra); -- no direct-TLS (xmpps-server) target
		end
		return original(hostname, svc, conn_type, extra);
	end;
end
