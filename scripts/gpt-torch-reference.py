#!/usr/bin/env python3
"""Known answers for keel's GPT from an independent PyTorch implementation.

Writes test/engine/fixtures/gpt-torch.json, which test/engine/gpt-torch.test.ts reads (CI has
no Python). Run from the repository root, with PyTorch and NumPy installed:

    python3 scripts/gpt-torch-reference.py            # builds the keel model with `npx tsx`
    python3 scripts/gpt-torch-reference.py --checkpoint DIR   # or reads a saved checkpoint

The model here is written from keel's documented architecture (docs/engine.md, "The model"),
nanoGPT style, not ported from src/engine/gpt: GPT-2 pre-LN, learned positions, tanh GELU,
LayerNorm eps from the config, a tied LM head, a per-token value head and a scalar reward
head read at each row's last real token. Weights come from keel's own checkpoint (the
safetensors file parsed by hand below), so the only shared input is the weights.

Padding: a token's position counts the real tokens before it, so left- and right-padded rows
agree. Real queries never attend to padded keys or to the future. A padded query's output is
undefined in keel ("mask it"): here it attends to itself alone, and the fixture stores
nothing for padded positions.

Everything is computed in float64 from the float32 weights, so the fixture is the exact
answer up to float64 rounding; the test measures keel's float32 and float64 runs against it.
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "test", "engine", "fixtures", "gpt-torch.json")

CONFIG = {"vocab": 37, "dModel": 16, "layers": 2, "heads": 2, "context": 12}
SEED = 11
# keel's init draws N(0, 0.02), gains 1 and biases 0, which leaves attention almost uniform
# and the layer norms' affine parts invisible; the test and this script both sharpen the
# seeded weights the same way (the weights' hash in the fixture checks that they agree)
SHARPEN_TS = """
function sharpen(m: Gpt): void {
  for (const s of m.params.specs) {
    const v = m.params.view(s.name);
    for (let i = 0; i < v.length; i++) {
      if (s.init === "normal") v[i] = v[i]! * 15;
      else if (s.init === "ones") v[i] = 1 + 0.3 * Math.sin(1.7 * i + 0.4);
      else v[i] = 0.2 * Math.cos(2.3 * i + 0.1);
    }
  }
  m.params.touch();
}
"""

MAKE_CHECKPOINT_TS = """
import { saveCheckpoint } from "%(repo)s/src/engine/checkpoint/checkpoint.js";
import { Gpt } from "%(repo)s/src/engine/gpt/model.js";
%(sharpen)s
const m = new Gpt(%(config)s, { seed: %(seed)d, threads: 1 });
sharpen(m);
saveCheckpoint(process.argv[2]!, m);
await m.dispose();
"""

# parameters whose loss gradient the fixture stores (the rest are checked through these)
GRAD_PARAMS = [
    "wte",
    "wpe",
    "h.0.ln_1.weight",
    "h.0.attn.c_attn.weight",
    "h.0.attn.c_attn.bias",
    "h.1.attn.c_proj.bias",
    "h.1.ln_2.bias",
    "h.1.mlp.c_proj.bias",
    "ln_f.weight",
]
HEAD_GRAD_PARAMS = ["wte", "h.1.mlp.c_fc.bias", "ln_f.bias", "value_head.weight",
                    "value_head.bias", "reward_head.weight", "reward_head.bias"]


# ---------------------------------------------------------------- safetensors, by hand

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def read_safetensors(path):
    """{name: np.ndarray} and the raw float32 bytes of every tensor in file order."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = np.frombuffer(buf[:8], dtype="<u8")
    header = json.loads(buf[8 : 8 + int(n)].decode("utf-8"))
    header.pop("__metadata__", None)
    data = buf[8 + int(n) :]
    out = {}
    ordered = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    raw = b""
    for name, t in ordered:
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        raw += data[a:b]
    return out, [name for name, _ in ordered], raw


# ---------------------------------------------------------------- the model (nanoGPT style)


class LayerNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out], y = x @ W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class CausalSelfAttention(nn.Module):
    def __init__(self, c, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(c, 3 * c)
        self.c_proj = Conv1D(c, c)

    def forward(self, x, allowed):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 × [B, T, C]
        heads = lambda t: t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)  # [B, H, T, D]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # [B, H, T, T]
        att = att.masked_fill(~allowed, float("-inf"))
        y = F.softmax(att, dim=-1) @ v  # [B, H, T, D]
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c, 4 * c)
        self.c_proj = Conv1D(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, n_head, eps):
        super().__init__()
        self.ln_1 = LayerNorm(c, eps)
        self.attn = CausalSelfAttention(c, n_head)
        self.ln_2 = LayerNorm(c, eps)
        self.mlp = MLP(c)

    def forward(self, x, allowed):
        x = x + self.attn(self.ln_1(x), allowed)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["dModel"]
        self.wte = nn.Parameter(torch.zeros(cfg["vocab"], C))
        self.wpe = nn.Parameter(torch.zeros(cfg["context"], C))
        self.h = nn.ModuleList(Block(C, cfg["heads"], cfg["lnEps"]) for _ in range(cfg["layers"]))
        self.ln_f = LayerNorm(C, cfg["lnEps"])
        self.value_head = Conv1D(C, 1)
        self.reward_head = Conv1D(C, 1)

    def forward(self, idx, mask):
        """idx, mask [B, T] → logits [B, T, V], values [B, T], rewards [B]."""
        B, T = idx.shape
        real = mask.bool()
        pos = (mask.cumsum(1) - 1).masked_fill(~real, 0)  # [B, T]: real tokens before each
        causal = torch.ones(T, T, dtype=torch.bool).tril()  # [T, T]
        eye = torch.eye(T, dtype=torch.bool)
        # a key is visible if it is real and not in the future; a padded query sees itself
        allowed = (causal & real[:, None, :]) | eye  # [B, T, T]
        allowed = allowed[:, None]  # [B, 1, T, T]
        x = self.wte[idx] + self.wpe[pos]  # [B, T, C]
        for block in self.h:
            x = block(x, allowed)
        h = self.ln_f(x)  # [B, T, C]
        logits = h @ self.wte.T  # tied head: [B, T, V]
        values = self.value_head(h).squeeze(-1)  # [B, T]
        last = (torch.arange(T) * mask).argmax(1)  # [B]: each row's last real token
        rewards = self.reward_head(h[torch.arange(B), last]).squeeze(-1)  # [B]
        return logits, values, rewards


# ---------------------------------------------------------------- batches and answers


def next_token_logprobs(logits, idx):
    """[B, T]: entry t = log p(idx[t] | idx[<t]), entry 0 = 0."""
    logp = F.log_softmax(logits[:, :-1], dim=-1).gather(2, idx[:, 1:, None]).squeeze(-1)
    return torch.cat([torch.zeros_like(logp[:, :1]), logp], 1)


def sft_loss(logprobs, mask, loss_mask):
    """−Σ w·logp / max(Σ w, 1), w_t = loss_mask[t] where tokens t − 1 and t are real."""
    w = loss_mask.clone()
    w[:, 0] = 0
    w[:, 1:] *= mask[:, 1:] * mask[:, :-1]
    return -(w * logprobs).sum() / w.sum().clamp(min=1)


def batches(V):
    rng = np.random.RandomState(5)
    tok = lambda n: rng.randint(0, V, size=n).tolist()
    # A: a full-context row (position 11 is the context's last), a right-padded row and a
    # left-padded one; padding holds varied ids and lossMask weight, which must not matter
    T = CONFIG["context"]
    a_rows = [tok(T), tok(7) + tok(5), tok(4) + tok(8)]
    a_mask = [[1] * T, [1] * 7 + [0] * 5, [0] * 4 + [1] * 8]
    a_loss = [[1.0] * T for _ in range(3)]
    a_loss[0][3] = 0.5
    a_loss[0][8] = 0.0
    a_loss[2][9] = 0.25
    # B: no mask at all (keel's default: all real)
    b_rows = [tok(5), tok(5)]
    return [
        {"name": "padded", "tokens": a_rows, "mask": a_mask, "lossMask": a_loss,
         "upstream": True},
        {"name": "unmasked", "tokens": b_rows, "mask": None, "lossMask": [[1.0] * 5] * 2,
         "upstream": False},
    ]


def upstream(B, T):
    """Seeded upstream gradients for backward(): d_logprobs, d_values [B, T], d_rewards [B]."""
    i = np.arange(B * T, dtype=np.float64)
    d_lp = np.round(np.sin(0.9 * i + 0.2), 3).reshape(B, T)
    d_v = np.round(np.cos(1.1 * i + 0.7), 3).reshape(B, T)
    d_r = np.round(0.5 + np.sin(2.1 * np.arange(B) + 1.3), 3)
    return d_lp, d_v, d_r


def sig(x, digits=12):
    if isinstance(x, torch.Tensor):
        x = x.detach().numpy()
    return [float(f"{v:.{digits}g}") for v in np.asarray(x, dtype=np.float64).ravel()]


def answers(model, spec):
    idx = torch.tensor(spec["tokens"], dtype=torch.long)
    B, T = idx.shape
    mask = torch.tensor(spec["mask"] if spec["mask"] is not None else [[1] * T] * B,
                        dtype=torch.float64)
    loss_mask = torch.tensor(spec["lossMask"], dtype=torch.float64)
    params = dict(model.named_parameters())

    model.zero_grad()
    logits, values, rewards = model(idx, mask.long())
    logprobs = next_token_logprobs(logits, idx)
    loss = sft_loss(logprobs, mask, loss_mask)
    loss.backward()
    real = mask.bool()
    out = {
        "name": spec["name"],
        "tokens": spec["tokens"],
        "mask": spec["mask"],
        "lossMask": spec["lossMask"],
        # [B·T] rows of V logits; null at padding (undefined there)
        "logits": [sig(logits[b, t]) if real[b, t] else None for b in range(B) for t in range(T)],
        # [B·T]; null where token t or t − 1 is padding, and at t = 0
        "logprobs": [float(f"{logprobs[b, t].item():.12g}")
                     if t > 0 and real[b, t] and real[b, t - 1] else None
                     for b in range(B) for t in range(T)],
        "values": [float(f"{values[b, t].item():.12g}") if real[b, t] else None
                   for b in range(B) for t in range(T)],
        "rewards": sig(rewards),
        "loss": float(f"{loss.item():.15g}"),
        "grads": {n: sig(params[n].grad) for n in GRAD_PARAMS},
    }
    if spec["upstream"]:
        # backward(d) for d_logprobs, d_values, d_rewards together: the gradient of
        # Σ d_lp ⊙ logprobs + Σ d_v ⊙ values + Σ d_r ⊙ rewards; keel's logprobs entry 0 is a
        # constant 0 and padded entries are computed anyway, so d is 0 wherever this
        # implementation leaves them undefined
        d_lp, d_v, d_r = upstream(B, T)
        keep = np.zeros((B, T))
        keep[:, 1:] = (mask[:, 1:] * mask[:, :-1]).numpy()
        d_lp = d_lp * keep
        d_v = d_v * mask.numpy()
        model.zero_grad()
        logits, values, rewards = model(idx, mask.long())
        logprobs = next_token_logprobs(logits, idx)
        total = ((torch.tensor(d_lp) * logprobs).sum() + (torch.tensor(d_v) * values).sum()
                 + (torch.tensor(d_r) * rewards).sum())
        total.backward()
        out["upstream"] = {"d_logprobs": sig(d_lp), "d_values": sig(d_v), "d_rewards": sig(d_r),
                           "grads": {n: sig(params[n].grad) for n in HEAD_GRAD_PARAMS}}
    return out


def make_checkpoint(dirname):
    script = os.path.join(dirname, "make.mts")
    with open(script, "w") as f:
        f.write(MAKE_CHECKPOINT_TS % {"repo": REPO, "sharpen": SHARPEN_TS, "seed": SEED,
                                      "config": json.dumps(CONFIG)})
    ck = os.path.join(dirname, "ck")
    subprocess.run(["npx", "tsx", script, ck], cwd=REPO, check=True)
    return ck


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="a keel checkpoint of this script's model")
    ap.add_argument("--out", default=FIXTURE)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ck = args.checkpoint or make_checkpoint(tmp)
        with open(os.path.join(ck, "config.json")) as f:
            cfg = json.load(f)["config"]
        tensors, order, raw = read_safetensors(os.path.join(ck, "model.safetensors"))
    for k, v in CONFIG.items():
        assert cfg[k] == v, f"checkpoint config {k}={cfg[k]}, expected {v}"
    assert cfg["dtype"] == "float32"

    torch.set_default_dtype(torch.float64)
    model = GPT(cfg)
    state = {n: torch.from_numpy(a.astype(np.float64)) for n, a in tensors.items()}
    missing = set(dict(model.named_parameters())) ^ set(state)
    assert not missing, f"parameters differ: {sorted(missing)}"
    model.load_state_dict(state, strict=True)

    fixture = {
        "about": "scripts/gpt-torch-reference.py: keel's GPT in PyTorch (float64), "
                 "from keel's seeded weights sharpened as the script describes",
        "torch": torch.__version__,
        "config": CONFIG,
        "seed": SEED,
        "params": order,
        "weightsSha256": hashlib.sha256(raw).hexdigest(),
        "batches": [answers(model, spec) for spec in batches(cfg["vocab"])],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    # the repository's lint checks JSON layout too
    subprocess.run(["npx", "biome", "format", "--write", args.out], cwd=REPO, check=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
