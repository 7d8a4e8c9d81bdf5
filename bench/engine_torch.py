"""PyTorch eager reference for bench/engine.ts: the same GPT as keel's engine, trained from the
same initial weights on the same batches, timed the same way.

Set-up (benchmark only; the product never needs torch), on Debian 12:
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch libopenblas0-pthread
and run with Debian's interpreter, /usr/bin/python3 (not a pyenv python3 on PATH).

Usage (bench/engine.ts calls it): /usr/bin/python3 bench/engine_torch.py DIR THREADS
DIR holds `data.safetensors` (keel's initial weights, the token batches) and `spec.json`
(sizes, optimiser settings, step counts). Prints one JSON object on stdout.

The model mirrors src/engine/gpt: pre-LN GPT-2 blocks, GELU (tanh), learned positions, tied
LM head, LayerNorm eps from the spec; keel stores linear weights [in, out], torch [out, in].
Loss: mean next-token cross-entropy over positions 1..T-1. Optimiser: torch.optim.AdamW with
decay on rank>=2 parameters only, clip_grad_norm_(max_norm), as keel's AdamW.
"""

import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    kinds = {"F32": np.float32, "I32": np.int32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        s, e = h["data_offsets"]
        arr = np.frombuffer(buf[base + s : base + e], dtype=kinds[h["dtype"]]).reshape(h["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class Gpt(torch.nn.Module):
    def __init__(self, w, spec):
        super().__init__()
        self.C, self.H, self.L = spec["dModel"], spec["heads"], spec["layers"]
        self.eps = spec["lnEps"]
        P = lambda t: torch.nn.Parameter(t.clone())
        self.wte, self.wpe = P(w["wte"]), P(w["wpe"])
        self.layers = torch.nn.ModuleList()
        for i in range(self.L):
            p = f"h.{i}."
            m = torch.nn.Module()
            for name in ["ln_1", "ln_2"]:
                setattr(m, f"{name}_w", P(w[p + name + ".weight"]))
                setattr(m, f"{name}_b", P(w[p + name + ".bias"]))
            for name in ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]:
                key = name.replace(".", "_")
                setattr(m, key + "_w", P(w[p + name + ".weight"].t().contiguous()))  # [out, in]
                setattr(m, key + "_b", P(w[p + name + ".bias"]))
            self.layers.append(m)
        self.lnf_w, self.lnf_b = P(w["ln_f.weight"]), P(w["ln_f.bias"])

    def block_attn(self, m, x, bias, past=None):
        B, T, C = x.shape
        H, D = self.H, C // self.H
        h = F.layer_norm(x, (C,), m.ln_1_w, m.ln_1_b, self.eps)
        qkv = F.linear(h, m.attn_c_attn_w, m.attn_c_attn_b)  # [B, T, 3C]
        q, k, v = qkv.view(B, T, 3 * H, D).transpose(1, 2).split(H, dim=1)  # [B, H, T, D]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        att = (q * D**-0.5) @ k.transpose(-2, -1)
        if bias is not None:
            att = att + bias
        y = F.softmax(att, dim=-1) @ v  # [B, H, T, D]
        y = y.transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, m.attn_c_proj_w, m.attn_c_proj_b)
        h = F.layer_norm(x, (C,), m.ln_2_w, m.ln_2_b, self.eps)
        h = F.gelu(F.linear(h, m.mlp_c_fc_w, m.mlp_c_fc_b), approximate="tanh")
        return x + F.linear(h, m.mlp_c_proj_w, m.mlp_c_proj_b), (k, v)

    def forward(self, tokens, start=0, past=None):
        B, T = tokens.shape
        x = self.wte[tokens] + self.wpe[start : start + T]
        bias = None
        if T > 1:
            bias = torch.full((T, T), -1e9).triu(1)
        cache = []
        for i, m in enumerate(self.layers):
            x, kv = self.block_attn(m, x, bias, None if past is None else past[i])
            cache.append(kv)
        h = F.layer_norm(x, (self.C,), self.lnf_w, self.lnf_b, self.eps)
        return h @ self.wte.t(), cache


def main():
    d, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    spec = json.load(open(f"{d}/spec.json"))
    data = read_safetensors(f"{d}/data.safetensors")
    model = Gpt(data, spec)
    batches = data["batches"].long()  # [S, B, T]
    o = spec["optim"]
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": o["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
    )
    losses, times = [], []
    for step in range(spec["trainSteps"]):
        tokens = batches[step % batches.shape[0]]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits, _ = model(tokens)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), o["maxGradNorm"])
        opt.step()
        times.append((time.perf_counter() - t0) * 1000)
        losses.append(loss.item())

    g = spec["gen"]
    gen_times = []
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for rep in range(-g["warmup"], g["reps"]):  # rep < 0: untimed warm-up, as on keel's side
            prompt = batches[max(rep, 0) % batches.shape[0], :, : g["prompt"]]
            t0 = time.perf_counter()
            logits, cache = model(prompt)
            nxt = logits[:, -1]
            pos = prompt.shape[1]
            for i in range(g["newTokens"]):
                tok = torch.multinomial(F.softmax(nxt, dim=-1), 1, generator=gen)  # [B, 1]
                if i == g["newTokens"] - 1:
                    break  # the last token needs no forward pass (as in keel)
                logits, cache = model(tok, start=pos, past=cache)
                nxt = logits[:, -1]
                pos += 1
            if rep >= 0:
                gen_times.append((time.perf_counter() - t0) * 1000)

    print(json.dumps({
        "threads": threads,
        "torch": torch.__version__,
        "losses": losses,
        "train_ms": times,
        "gen_ms": gen_times,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
