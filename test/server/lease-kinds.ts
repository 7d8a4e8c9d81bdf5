import { RedisLeaseStore } from "../../src/server/redis/index.js";
import { type LeaseStore, MemoryLeaseStore } from "../../src/server/tasks/leases.js";
import { connect, redisPrefix } from "../scale/helpers.js";

const prefix = redisPrefix();
let opened = 0;

/** Redis keys of a fixture's own: every fixture has a project p1 with the same items. */
export const freshRedisKeys = (): string => `${prefix}${opened++}:`;

/** Each lease store keel has, opened fresh for one fixture. */
export const leaseStoreKinds: readonly { name: string; open: () => Promise<LeaseStore> }[] = [
  { name: "memory", open: async () => new MemoryLeaseStore() },
  { name: "redis", open: async () => new RedisLeaseStore(await connect(freshRedisKeys())) },
];
