/** The KeelError a promise is rejected with; fails the test if it resolves instead. */
import { KeelError } from "../../src/core/errors.js";

export async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    return e as KeelError;
  }
  throw new Error("expected a failure");
}

/**
 * The KeelError `f` throws; fails the test if it returns, and passes any other error on (a
 * TypeError is a crash, not a refusal).
 */
export function refusal(f: () => unknown): KeelError {
  try {
    f();
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("accepted");
}
