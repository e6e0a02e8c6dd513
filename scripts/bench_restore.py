"""Time per slice of whole-slice restoration (`medsr_nb.restore.restore_slices`) for every model, at several sizes.

    python scripts/bench_restore.py                       # 256² and 512², NFE 4, untrained tiny models, this machine's CPU
    python scripts/bench_restore.py --sizes 256,512 --nfe 4 --size tiny --device cuda

Convolutional models run on the whole (padded) slice; DiT/SiT run on Gaussian-blended tiles of the training size
(`--tile`, default 64 = the quick profile's) at every sampler step, so their cost should grow with the pixel count
(ratio 4 from 256² to 512²), not with its square as global attention would. Weights are random: timing does not
depend on them. Prints one row per model: ms/slice at each size, the 512²/256² ratio and the multiple of the U-Net's
time; the process's peak resident memory is printed at the end. Each figure is the median of `--repeats` runs after
one warm-up run. DiT/SiT tiles run in bf16 where the CPU/GPU has it (`--precision auto`, as `medsr-restore`);
`--precision fp32` times them in float32.
"""
import argparse, platform, resource, statistics, sys, time
from pathlib import Path
import torch
from medsr_nb.core import get_profile     
from medsr_nb.training import build_module, MODELS     
from medsr_nb.restore import restore_slices, tile_dtype    

def build(name: str, size: str, tile: int, workdir: Path, profile: str = 'quick', task: str = 'ct_dose25'):
    "Model `name` as `profile`'s study builds it for `task` (e.g. the refiners' patch size), with random weights."
    kw = {k: v for k, v in MODELS[name].cls.profile_kwargs(get_profile(profile), task).items() if k == 'patch_size'}
    if MODELS[name].cls.needs_prior:               # a refiner needs a U-Net checkpoint for f(y)
        ck = workdir/'unet.ckpt'
        if not ck.exists():
            torch.save({'hyper_parameters': {'name': 'unet', 'size': size}, 'state_dict': build_module('unet', size=size).state_dict()}, ck)
        m = build_module(name, size=size, prior_ckpt=str(ck), **kw); m.residual_scale.fill_(0.02)
    else: m = build_module(name, size=size, **kw)
    m.data_convention = dict(size=tile)
    return m.eval()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', default='unet,esrgan,dit_refine,sit_refine,dit')
    ap.add_argument('--sizes', default='256,512')
    ap.add_argument('--nfe', type=int, default=4)
    ap.add_argument('--size', default='tiny', help='model size')
    ap.add_argument('--profile', default='quick', help="the study profile whose architecture choices (the refiners' patch size for CT) the models take")
    ap.add_argument('--tile', type=int, default=64)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16'])
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    import tempfile
    work = Path(tempfile.mkdtemp())
    sizes = [int(s) for s in a.sizes.split(',')]
    hw = torch.cuda.get_device_name() if a.device.startswith('cuda') else f'{platform.processor() or platform.machine()} CPU'
    print(f'device {a.device}: {hw}, {torch.get_num_threads()} threads; model size {a.size} as profile {a.profile} builds it for CT, tile {a.tile}, NFE {a.nfe} for samplers, '
          f'batch 1; DiT/SiT tiles in {tile_dtype(a.device, a.precision) or torch.float32}; median of {a.repeats} runs')
    rows = {}
    for name in a.models.split(','):
        m = build(name, a.size, a.tile, work, a.profile).to(a.device)
        nfe = a.nfe if m.is_diffusion else None
        rows[name] = {'nfe': nfe or 1}
        for s in sizes:
            x = torch.rand(1, 1, s, s) * 2 - 1
            ts = []
            for r in range(a.repeats + 1):                                   # run 0: warm-up
                t0 = time.perf_counter()
                restore_slices(m, x, 'ct_dose25', nfe=nfe, precision=a.precision)
                if a.device.startswith('cuda'): torch.cuda.synchronize()
                if r: ts.append(time.perf_counter() - t0)
            rows[name][s] = 1000 * statistics.median(ts)
        print(f'  {name}: ' + ', '.join(f'{s}²: {rows[name][s]:.0f} ms' for s in sizes), flush=True)
    lo, hi = sizes[0], sizes[-1]
    print(f'\n| model | NFE | ' + ' | '.join(f'ms/slice {s}²' for s in sizes) + f' | ratio {hi}²/{lo}² | × U-Net at {hi}² |')
    print('|---|---|' + '---|' * (len(sizes) + 2))
    for name, r in rows.items():
        u = rows.get('unet', {}).get(hi)
        print(f'| {name} | {r["nfe"]} | ' + ' | '.join(f'{r[s]:.0f}' for s in sizes) + f' | {r[hi] / r[lo]:.2f} | ' + (f'{r[hi] / u:.1f}' if u else '–') + ' |')
    print(f'\npeak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB')

if __name__ == '__main__':
    main()
