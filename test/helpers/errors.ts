/** The KeelError a promise is rejected with; fails the test if it resolves instead. */
import type { KeelError } from "../../src/core/errors.js";

export async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    return e as KeelError;
  }
  throw new Error("expected a failure");
}
