/** The collection service's store: its tables and queries (the server's persistence layer). */
export * from "./auth.js";
export * from "./members.js";
export * from "./outcome.js";
export * from "./projects.js";
export * from "./schema.js";
export * from "./settings.js";
export * from "./users.js";
export { isUniqueViolation, newId, writeTransaction } from "./util.js";
