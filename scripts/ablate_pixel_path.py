"""Ablation of DiT's pixel path at quick size: patch 8, 4 and 2, with and without the conv stem / zero-initialised conv head.

    python scripts/ablate_pixel_path.py --task ct_dose25           # needs the quick study's trained U-Net (f(y))
    MEDSR_RESULTS=/tmp/r python scripts/ablate_pixel_path.py ...  # reads that results folder's runs instead

Trains `dit_refine` (the predict-and-refine DiT of `medsr_nb.training`) once per variant on the quick profile's split of the
task, with the same seed, data, steps and f(y) (the study's U-Net of that task), and prints a Markdown table of the
test split at NFE 4: PSNR/SSIM of the mean of 8 samples, PSNR and LPIPS of single samples, and the seconds per training
step. The table is also written to results/tables/ablation_pixel_path_<task>.md. (A fixed operating point, the quick
profile's few-step budget, so the variants are compared at equal cost; nothing is chosen on the test split.)
"""
import argparse, json, sys, time
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
import numpy as np, torch
from torch.utils.data import DataLoader
from medsr_nb.core import get_profile, get_task, results_dir, seed_everything, atomic_write_text, require_file
from medsr_nb.io import study_datasets
from medsr_nb.training import MODELS, build_module, fit, load_module, restore_batches
from medsr_nb.metrics import evaluate_batch, LPIPS, mean_of_k
from medsr_nb.study import quality_keys

VARIANTS = {'patch 4, linear embed/head (DiT)': dict(patch_size=4, stem_channels=0, pixel_head=False),
            'patch 4, conv stem + head': dict(patch_size=4, stem_channels=32, pixel_head=True),
            'patch 2, linear embed/head': dict(patch_size=2, stem_channels=0, pixel_head=False),
            'patch 2, conv stem + head': dict(patch_size=2, stem_channels=32, pixel_head=True),
            'patch 8, conv stem + head': dict(patch_size=8, stem_channels=32, pixel_head=True)}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--task', default='ct_dose25'); ap.add_argument('--profile', default='quick')
    ap.add_argument('--model', default='dit_refine', choices=['dit_refine', 'sit_refine'])
    ap.add_argument('--steps', type=int, default=None, help="optimiser steps (default: the profile's max_steps)")
    ap.add_argument('--nfe', type=int, default=4); ap.add_argument('--samples', type=int, default=8)
    ap.add_argument('--variants', default=','.join(str(i) for i in range(len(VARIANTS))), help='indices into VARIANTS')
    a = ap.parse_args()
    cfg, t = get_profile(a.profile), get_task(a.task)
    steps = a.steps or cfg['max_steps']
    # the variant the study itself trains (tiny size: patch 4, or the profile's `refine_patch` for the modality)
    study_kw = dict(patch_size=4, stem_channels=32, pixel_head=True, **MODELS[a.model].cls.profile_kwargs(cfg, a.task))
    prior = require_file(results_dir()/'runs'/a.profile/a.task/'unet'/'checkpoints'/'last.ckpt', 'trained U-Net of the study',
                         f'run the {a.profile} study (make study) or 03_train for unet on {a.task} first')
    ds = study_datasets(cfg, a.task, 'synthetic', None, seed=0)
    train = DataLoader(ds['train'], batch_size=cfg['batch_size'], shuffle=True, drop_last=True)
    stack = lambda d, k: torch.stack([d[i][k] for i in range(len(d))])
    x, y = stack(ds['test'], 'input'), stack(ds['test'], 'target')
    lp, key = LPIPS(), quality_keys(t.modality)
    mean = lambda rows, k: float(np.mean([r[k] for r in rows]))
    lines = [f'| variant | params | s/step | PSNR (mean of {a.samples}) ↑ | SSIM (mean of {a.samples}) ↑ | PSNR (1 sample) | LPIPS (1 sample) ↓ |',
             '|---|---|---|---|---|---|---|']
    rows_u = evaluate_batch(restore_batches(load_module(prior), x, t.id), y, t.modality, lpips=lp)
    lines.insert(2, f"| f(y): the U-Net alone | – | – | {mean(rows_u, key[0]):.2f} | {mean(rows_u, key[1]):.3f} | = | {mean(rows_u, 'lpips'):.4f} |")
    for i in [int(v) for v in a.variants.split(',')]:
        name, kw = list(VARIANTS.items())[i]
        study_run = results_dir()/'runs'/a.profile/a.task/a.model
        if kw == study_kw and steps == cfg['max_steps'] and (study_run/'done.json').exists():
            # the study's own dit_refine is this variant (same data, seed, steps, f(y)): reuse it, and its training time
            m = load_module(study_run/'checkpoints'/'last.ckpt')
            sps = json.loads((study_run/'done.json').read_text())['train_seconds']/steps
        else:
            seed_everything(0)
            m = build_module(a.model, size=cfg['model_size'], prior_ckpt=str(prior), **kw)
            t0 = time.time()
            m = fit(m, train, None, Path('/tmp/medsr_ablation')/a.task/a.model/f'v{i}', max_steps=steps, seed=0, resume=False, progress_bar=False)
            sps = (time.time() - t0)/steps
        n_par = sum(p.numel() for p in m.net.parameters())
        S = restore_batches(m.eval(), x, t.id, a.nfe, cfg['batch_size'], 0, n_samples=a.samples).reshape(a.samples, *x.shape)
        mk = mean_of_k(S, [1, a.samples])
        r1, rk = evaluate_batch(mk[1], y, t.modality, lpips=lp), evaluate_batch(mk[a.samples], y, t.modality)
        lines.append(f"| {name} | {n_par/1e6:.2f}M | {sps:.2f} | {mean(rk, key[0]):.2f} | {mean(rk, key[1]):.3f} | "
                     f"{mean(r1, key[0]):.2f} | {mean(r1, 'lpips'):.4f} |")
        print(lines[-1], flush=True)
    note = (f"`{a.model}` on `{a.task}`, profile `{a.profile}` ({cfg['size']}² slices, {steps} steps of batch {cfg['batch_size']}, "
            f"seed 0, f(y) = the study's U-Net), test split ({len(x)} slices) at NFE {a.nfe}; "
            f"{'CT PSNR/SSIM in HU over [-1000, 1000]' if t.modality == 'ct' else 'MRI PSNR/SSIM on [0, 1]'}, LPIPS (AlexNet). "
            f"s/step on {torch.get_num_threads()} CPU threads. Command: `python scripts/ablate_pixel_path.py --task {a.task} --model {a.model} --variants {a.variants}`.")
    table = '\n'.join(lines) + '\n\n' + note + '\n'
    print(table)
    atomic_write_text(ROOT/'results'/'tables'/(f'ablation_pixel_path_{a.task}' + ('' if a.model == 'dit_refine' else f'_{a.model}') + '.md'), table)

if __name__ == '__main__': main()
