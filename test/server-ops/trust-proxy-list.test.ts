/**
 * `--trust-proxy ADDRESSES`: behind a CDN and then a load balancer, a client's address is the
 * one the CDN saw, so clients keep their own per-address limits (with one trusted hop they all
 * shared the CDN's address, and one client's burst limited every other).
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validProxyList } from "../../src/core/proxy-list.js";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { type Fixture, makeFixture } from "../server/helpers.js";

const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

const LOAD_BALANCER = "10.0.0.2";
const CDN = "203.0.113.7";

async function server(trustProxy: boolean | string): Promise<Fixture> {
  const store = await openStore(join(tempDir(), "k.db"), { create: true });
  const fx = await makeFixture(
    store,
    {},
    { trustProxy, rateLimits: { ip: { rate: 0.001, burst: 3 } } },
  );
  fixtures.push(fx);
  return fx;
}

/** `n` requests from `client` through the CDN and the load balancer, each with a spoofed entry. */
async function through(fx: Fixture, client: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fx.app.inject({
      method: "GET",
      url: "/healthz",
      remoteAddress: LOAD_BALANCER,
      headers: { "x-forwarded-for": `192.0.2.${i}, ${client}, ${CDN}` },
    });
    statuses.push(r.statusCode);
  }
  return statuses;
}

describe("--trust-proxy with the proxies' addresses", () => {
  it("keys each client on its own address behind two proxies, whatever it writes itself", async () => {
    const fx = await server(`10.0.0.0/8, ${CDN}`);
    expect(await through(fx, "198.51.100.1", 5)).toEqual([200, 200, 200, 429, 429]);
    // Another client behind the same CDN is not limited by the first one's burst.
    expect(await through(fx, "198.51.100.2", 1)).toEqual([200]);
  });

  it("with one trusted hop, every client behind the CDN shares its address (why the list exists)", async () => {
    const fx = await server(true);
    expect(await through(fx, "198.51.100.1", 3)).toEqual([200, 200, 200]);
    expect(await through(fx, "198.51.100.2", 1)).toEqual([429]);
  });

  it("takes IPs, CIDR ranges and the named ranges, and refuses anything else before serving", async () => {
    for (const ok of ["loopback", "10.0.0.0/8,::1", "fd00::/8, 203.0.113.7", "uniquelocal"])
      expect(validProxyList(ok), ok).toBe(true);
    for (const bad of ["", "proxy.example.org", "10.0.0.0/33", "10.0.0.1/8/1", "::1/129", "1.2.3"])
      expect(validProxyList(bad), bad).toBe(false);
    const r = await runCli(["serve", "--trust-proxy", "proxy.example.org"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("--trust-proxy takes the proxies' addresses");
  });
});
