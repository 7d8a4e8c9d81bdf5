/**
 * `keel serve --trust-proxy ADDRESSES`: the proxies by address (comma-separated IPs, CIDR
 * ranges, or the names `loopback`, `linklocal`, `uniquelocal`, as Fastify's proxy-addr reads
 * them). Here, not in the server, so that the command's definition checks it without loading
 * the server.
 */
import { isIP } from "node:net";

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * `--trust-proxy ADDRESSES`: the proxies by address (comma-separated IPs, CIDR ranges, or the
 * names `loopback`, `linklocal`, `uniquelocal`). Every hop through one of them is trusted, so
 * behind a CDN and then a load balancer the address is the client's, not the CDN's.
 */
export function validProxyList(list: string): boolean {
  const items = list.split(",").map((s) => s.trim());
  return (
    items.length > 0 &&
    items.every((item) => {
      if (PROXY_NAMES.has(item)) return true;
      const [ip, bits, extra] = item.split("/");
      const family = isIP(ip ?? "");
      if (family === 0 || extra !== undefined) return false;
      if (bits === undefined) return true;
      const n = /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
      return n >= 0 && n <= (family === 4 ? 32 : 128);
    })
  );
}

export const PROXY_LIST_MESSAGE =
  "--trust-proxy takes the proxies' addresses: comma-separated IPs, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal";
