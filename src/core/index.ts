export * from "./canonical.js";
export * from "./config.js";
export * from "./digest.js";
export * from "./errors.js";
export { type IssueContext, zodIssueMessage } from "./issue-messages.js";
export * from "./rng.js";
export * from "./schemas.js";
export * from "./types.js";
export * from "./version.js";
