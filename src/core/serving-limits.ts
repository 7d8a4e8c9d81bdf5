/**
 * Default work limits of keel's model servers (serve-model, serve-rm), here rather than in
 * src/server so that the CLI's command definitions can show them in --help without loading
 * the servers (the start-up test keeps `keel --help` light).
 */

/** serve-model: tokens one request may ask the model for (prompts × n × max_tokens). */
export const DEFAULT_MAX_REQUEST_TOKENS = 16_384;
/** serve-model: completion requests in progress or waiting for the model at once. */
export const DEFAULT_MAX_PENDING = 16;

/** serve-rm: the most queries in one request. */
export const DEFAULT_MAX_ITEMS = 8192;
/**
 * serve-rm: the most items waiting for a batch across requests (four of the largest requests),
 * so neither one client nor many can queue work, and memory, without bound.
 */
export const DEFAULT_MAX_QUEUED_ITEMS = 4 * DEFAULT_MAX_ITEMS;

/**
 * serve-rm: requests admitted at once, from their first byte (so bodies still arriving count)
 * to their answer. With the 64 MiB body limit this bounds request bodies to 2 GiB in the worst
 * case; an OpenRLHF run sends one request per rollout worker at a time, far fewer than this.
 */
export const DEFAULT_RM_MAX_PENDING = 32;

/** serve-rm: the largest request body, in bytes. */
export const DEFAULT_RM_BODY_LIMIT = 64 << 20;
