/**
 * `keel serve`, every route under /api/projects and /api/tasks fuzzed (keel-driver.ts): never a
 * 5xx, always keel's error shape naming the field at fault, nothing stored changed by a refusal
 * (the ledger's length included), and the service answering afterwards.
 */
import { describe } from "vitest";
import { fuzzRoutes, isProjectRoute, keelRoutes } from "./keel-driver.js";

const { ops, served } = await keelRoutes();

describe("keel serve, project and task routes fuzzed", () => {
  fuzzRoutes(ops.filter(isProjectRoute), served);
});
