/**
 * The GPT configuration, the single source of sizes, and the parameter list it implies.
 *
 * Parameter names and layouts follow GPT-2 (Hugging Face `transformers`' Conv1D layout,
 * weights [in, out] so that y = x·W + b): wte [V, C], wpe [context, C], per layer h.i:
 * ln_1, attn.c_attn [C, 3C], attn.c_proj [C, C], ln_2, mlp.c_fc [C, 4C], mlp.c_proj [4C, C];
 * ln_f; plus keel's heads: value_head [C, 1] (per-token value) and reward_head [C, 1] (scalar
 * read at the last non-padding token). The LM head is tied to wte.
 * Initialisation as GPT-2: N(0, 0.02), residual projections N(0, 0.02/√(2L)), biases 0,
 * layer-norm gains 1.
 */
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { ParamSpec } from "../params.js";

export const GptConfigSchema = z
  .strictObject({
    vocab: z.int().min(2),
    dModel: z.int().min(1),
    layers: z.int().min(1),
    heads: z.int().min(1),
    context: z.int().min(2),
    lnEps: z.number().positive().default(1e-5),
    dtype: z.enum(["float32", "float64"]).default("float32"),
  })
  .refine((c) => c.dModel % c.heads === 0, {
    message: "dModel must be divisible by heads",
    path: ["heads"],
  })
  // Layer norm divides by √(var + lnEps): an epsilon that rounds to 0 in the model's dtype
  // (1e-50 in float32) makes a constant row 0/0 = NaN; one that rounds to ∞ makes every row 0.
  .refine(
    (c) =>
      c.dtype === "float64" || (Math.fround(c.lnEps) > 0 && Number.isFinite(Math.fround(c.lnEps))),
    {
      message:
        "lnEps must be a positive float32 (from about 1.4e-45 to 3.4e38): it rounds to 0 or to infinity in this model's dtype",
      path: ["lnEps"],
    },
  );

export type GptConfig = z.output<typeof GptConfigSchema>;
export type GptConfigInput = z.input<typeof GptConfigSchema>;

export function parseGptConfig(raw: unknown, file?: string): GptConfig {
  const r = GptConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new KeelError("KEEL_E_CONFIG", `invalid GPT config: ${issue.message}`, {
      where: { ...(file ? { file } : {}), field: issue.path.join(".") },
    });
  }
  return r.data;
}

export function paramSpecs(c: GptConfig): ParamSpec[] {
  const C = c.dModel;
  const residStd = 0.02 / Math.sqrt(2 * c.layers);
  const specs: ParamSpec[] = [
    { name: "wte", shape: [c.vocab, C], init: "normal" },
    { name: "wpe", shape: [c.context, C], init: "normal" },
  ];
  for (let i = 0; i < c.layers; i++) {
    const p = `h.${i}.`;
    specs.push(
      { name: `${p}ln_1.weight`, shape: [C], init: "ones" },
      { name: `${p}ln_1.bias`, shape: [C], init: "zeros" },
      { name: `${p}attn.c_attn.weight`, shape: [C, 3 * C], init: "normal" },
      { name: `${p}attn.c_attn.bias`, shape: [3 * C], init: "zeros" },
      { name: `${p}attn.c_proj.weight`, shape: [C, C], init: "normal", std: residStd },
      { name: `${p}attn.c_proj.bias`, shape: [C], init: "zeros" },
      { name: `${p}ln_2.weight`, shape: [C], init: "ones" },
      { name: `${p}ln_2.bias`, shape: [C], init: "zeros" },
      { name: `${p}mlp.c_fc.weight`, shape: [C, 4 * C], init: "normal" },
      { name: `${p}mlp.c_fc.bias`, shape: [4 * C], init: "zeros" },
      { name: `${p}mlp.c_proj.weight`, shape: [4 * C, C], init: "normal", std: residStd },
      { name: `${p}mlp.c_proj.bias`, shape: [C], init: "zeros" },
    );
  }
  specs.push(
    { name: "ln_f.weight", shape: [C], init: "ones" },
    { name: "ln_f.bias", shape: [C], init: "zeros" },
    { name: "value_head.weight", shape: [C, 1], init: "normal" },
    { name: "value_head.bias", shape: [1], init: "zeros" },
    { name: "reward_head.weight", shape: [C, 1], init: "normal" },
    { name: "reward_head.bias", shape: [1], init: "zeros" },
  );
  return specs;
}

/** Matmul FLOPs of one forward pass per token (2·params of the matmuls + attention). */
export function forwardFlopsPerToken(c: GptConfig, seqLen: number): number {
  const C = c.dModel;
  return 2 * (12 * c.layers * C * C + c.vocab * C) + 4 * c.layers * seqLen * C;
}
