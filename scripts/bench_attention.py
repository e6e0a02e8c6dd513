"""Attention on a CPU in bf16 training: the flash kernel's backward in bf16 against float32 (`medsr_nb.dit.sdpa`).

Prints (1) forward+backward ms of `F.scaled_dot_product_attention` alone at DiT-tiny's head shape per token count and
dtype, and (2) one bf16-autocast training step of the refiners on 64² crops (batch 16) with attention in bf16 (plain
SDPA) or float32 (`sdpa`), interleaved. Usage: `python scripts/bench_attention.py [--threads 1] [--steps 10]`."""
import argparse, time
import torch, torch.nn.functional as F
import medsr_nb.dit as dit
from medsr_nb.training import build_module

def per_call(fn, n):
    for _ in range(2): fn()
    t = time.perf_counter()
    for _ in range(n): fn()
    return (time.perf_counter() - t) / n

def kernel(n):
    for L in (64, 128, 256, 1024):
        row = []
        for dt in (torch.bfloat16, torch.float32):
            q, k, v = [torch.randn(16, 4, L, 32, dtype=dt, requires_grad=True) for _ in range(3)]
            row.append(per_call(lambda: F.scaled_dot_product_attention(q, k, v).sum().backward(), n) * 1e3)
        print(f'SDPA fwd+bwd, 16×4 heads×{L} tokens×32: bf16 {row[0]:.2f} ms, float32 {row[1]:.2f} ms')

def step_time(name, patch, n):
    m = build_module(name, size='tiny', patch_size=patch); m.residual_scale.fill_(0.05)
    x = torch.randn(16, 1, 64, 64)
    b = dict(input=x, target=x + 0.01 * torch.randn_like(x), task=torch.ones(16, dtype=torch.long))
    opt = torch.optim.AdamW(m.parameters(), 1e-4)
    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16): loss = m.compute_loss(b)
        loss.backward(); opt.step(); opt.zero_grad()
    fp32, plain, out = dit.sdpa, F.scaled_dot_product_attention, {'bf16': [], 'float32': []}
    for _ in range(2):   # interleaved
        for lab, f in (('bf16', plain), ('float32', fp32)):
            dit.sdpa = f
            try: out[lab].append(per_call(step, n))
            finally: dit.sdpa = fp32
    print(f'{name} patch {patch}: one bf16 training step with attention in bf16 {min(out["bf16"]):.3f} s, '
          f'in float32 {min(out["float32"]):.3f} s')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--steps', type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f'CPU, {a.threads} thread(s), torch {torch.__version__}')
    kernel(a.steps)
    for name, patch in (('sit_refine', 8), ('dit_refine', 8), ('sit_refine', 4)): step_time(name, patch, a.steps)
