/**
 * The safety baseline `keel audit --safety` asks for: the rule lexicon, an ONNX classifier run
 * through onnxruntime-node, or an OpenAI-compatible moderation endpoint. The two asynchronous
 * classifiers see each comparison's texts once, into a table, before the audit runs.
 */
import { readFile } from "node:fs/promises";
import { KeelError } from "../../core/errors.js";
import { redactUrl } from "../../core/redact.js";
import {
  type AuditConfig,
  type AuditDataBuilder,
  moderationClassifier,
  onnxClassifier,
  precomputeSafety,
  ruleClassifier,
  type SafetyClassifier,
  type SafetyTable,
} from "../../defend/index.js";
import type { AuditFlags } from "../commands/audit.js";

/** An ONNX classifier, and the release of its session (what the audit is done with it). */
async function onnxFromFile(
  path: string,
  o: AuditFlags,
): Promise<{ classifier: SafetyClassifier; release(): Promise<void> }> {
  if (!o.safetyTokenizer) {
    throw new KeelError(
      "KEEL_E_USAGE",
      "--safety onnx:FILE needs --safety-tokenizer tokenizer.json (byte-level BPE)",
    );
  }
  const [{ InferenceSession, Tensor }, { BpeTokenizer }] = await Promise.all([
    import("onnxruntime-node"),
    import("../../engine/tokenizer/bpe.js"),
  ]);
  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(await readFile(o.safetyTokenizer, "utf8"));
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot read tokenizer: ${(e as Error).message}`, {
      where: { file: o.safetyTokenizer },
    });
  }
  const tokenizer = BpeTokenizer.fromJSON(tokenizerJson, o.safetyTokenizer);
  let session: Awaited<ReturnType<typeof InferenceSession.create>>;
  try {
    session = await InferenceSession.create(path);
  } catch (e) {
    throw new KeelError("KEEL_E_FILE", `cannot load ONNX model: ${(e as Error).message}`, {
      where: { file: path },
    });
  }
  let classifier: SafetyClassifier;
  try {
    classifier = onnxClassifier(
      {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds) {
          const inputs: Record<string, InstanceType<typeof Tensor>> = {};
          for (const [k, v] of Object.entries(feeds))
            inputs[k] = new Tensor("int64", v.data, [...v.dims]);
          const out = await session.run(inputs);
          const result: Record<string, { data: ArrayLike<number>; dims: readonly number[] }> = {};
          for (const [k, v] of Object.entries(out))
            result[k] = { data: v.data as Float32Array, dims: v.dims };
          return result;
        },
      },
      {
        id: `onnx:${path}`,
        tokenize: (t) => tokenizer.encode(t),
        ...(o.safetyThreshold !== undefined ? { threshold: o.safetyThreshold } : {}),
        ...(o.safetyLabel !== undefined ? { unsafeLabel: o.safetyLabel } : {}),
        ...(o.safetyWithPrompt ? { withPrompt: true } : {}),
      },
    );
  } catch (e) {
    await session.release(); // a model keel cannot feed (no input_ids)
    throw e;
  }
  return { classifier, release: () => session.release() };
}

function moderationFromUrl(url: string, o: AuditFlags): SafetyClassifier {
  // fetch refuses such a URL, and the messages (and the audit's safety_classifier) name it.
  if (redactUrl(url) !== url)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--safety moderation:URL must not carry a password or key: got ${JSON.stringify(redactUrl(url))}`,
      { hint: "give the key in the KEEL_MODERATION_API_KEY environment variable" },
    );
  const key = process.env.KEEL_MODERATION_API_KEY;
  const post = async (target: string, body: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(target, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `moderation endpoint ${target} unreachable: ${(e as Error).message}`,
      );
    }
    if (!res.ok)
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `moderation endpoint ${target} answered HTTP ${res.status}`,
      );
    return res.json();
  };
  return moderationClassifier(post, {
    baseUrl: url,
    ...(o.safetyModel ? { model: o.safetyModel } : {}),
    ...(o.safetyThreshold !== undefined ? { threshold: o.safetyThreshold } : {}),
    ...(o.safetyWithPrompt ? { withPrompt: true } : {}),
  });
}

/** The safety baseline the flags ask for: the rule lexicon, or a table filled by ONNX / HTTP. */
export async function safetyFor(
  o: AuditFlags,
  config: AuditConfig,
  judgments: AuditDataBuilder,
): Promise<ReturnType<typeof ruleClassifier> | SafetyTable> {
  // An asynchronous classifier sees each comparison's texts once, before the audit runs.
  const spec = o.safety ?? "lexicon";
  if (spec === "lexicon") return ruleClassifier(config.safety.rules);
  let classifier: SafetyClassifier;
  // The ONNX session is released once the verdicts are in, however that ends: a long-lived
  // program that audits again and again must not keep one session per audit.
  let release: (() => Promise<void>) | undefined;
  if (spec.startsWith("onnx:")) ({ classifier, release } = await onnxFromFile(spec.slice(5), o));
  else if (spec.startsWith("moderation:")) classifier = moderationFromUrl(spec.slice(11), o);
  else
    throw new KeelError(
      "KEEL_E_USAGE",
      `--safety must be lexicon, onnx:FILE or moderation:URL; got ${JSON.stringify(redactUrl(spec))}`,
    );
  function* inputs() {
    for (const c of judgments.comparisonTexts()) {
      yield { prompt: c.prompt, response: c.a };
      yield { prompt: c.prompt, response: c.b };
    }
  }
  try {
    return await precomputeSafety(classifier, inputs());
  } finally {
    await release?.();
  }
}
