/**
 * The work limits of `keel serve-rm`: a request carries at most `DEFAULT_MAX_ITEMS` queries;
 * across requests at most `DEFAULT_MAX_QUEUED_ITEMS` items wait for a batch (see app.ts). The
 * values live in core/serving-limits.ts, so the CLI can show them without loading the server.
 */
export { DEFAULT_MAX_ITEMS, DEFAULT_MAX_QUEUED_ITEMS } from "../../core/serving-limits.js";
