/**
 * Releasing what a trainer opened (models, reward scorers, their ONNX Runtime sessions) however
 * its run ends. A release that fails must not hide why the run ended: when the run threw, its
 * error is the one that propagates, and a failed release is dropped (it says nothing of the
 * run, and the process is ending the run anyway). When the run succeeded, a failed release
 * surfaces. Every release is tried, also after one fails, so one that throws does not leave the
 * others' sessions open.
 */

export type Release = () => Promise<void> | void;

/** Calls each of `release` in order, every one even when an earlier fails; throws the first failure. */
export async function releaseAll(release: readonly Release[]): Promise<void> {
  let failed: { error: unknown } | undefined;
  for (const r of release) {
    try {
      await r();
    } catch (e) {
      failed ??= { error: e };
    }
  }
  if (failed) throw failed.error;
}

/**
 * Releases `release` after a failure that is already on its way out: each is started at once
 * (a synchronous cleanup path, `void releaseQuietly(…)`, has begun every release when it
 * throws), and a failed one is dropped, never an unhandled rejection.
 */
export async function releaseQuietly(release: readonly Release[]): Promise<void> {
  await Promise.allSettled(release.map(async (r) => r()));
}

/** `body()`, then every `release` however it ended (see the header for which error wins). */
export async function releasing<T>(body: () => Promise<T>, ...release: Release[]): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (e) {
    await releaseQuietly(release);
    throw e;
  }
  await releaseAll(release);
  return result;
}
