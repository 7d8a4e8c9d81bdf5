export * from "./append.js";
export * from "./ledger.js";
export * from "./stats.js";
export * from "./store.js";
export * from "./verify.js";
export type { LedgerHead } from "./writer.js";
