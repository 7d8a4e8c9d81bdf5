/** The feedback store for the actions of commands that take `--db`. */
import { type FeedbackStore, type OpenStoreOptions, openStore } from "../../store/store.js";

/** Opens the store, runs `fn`, and always closes it. */
export async function withStore<T>(
  target: string,
  fn: (store: FeedbackStore) => Promise<T>,
  opts: OpenStoreOptions = {},
): Promise<T> {
  const store = await openStore(target, opts);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
