"""Unpack what `.gpu/run.sh` returned (results.tgz, <task>__restored.pt, <task>__<model>_samples.pt) into a results
folder, merging each task's restored images back into runs/<study>/<task>/restored.pt, so 06_report can run on it:

    python scripts/device_bundle_unpack.py /work/.device/<call>/files gpu_results
    MEDSR_RESULTS=gpu_results python scripts/run_study.py --profile gpu --stages report --engine inprocess
"""
import sys, tarfile
from pathlib import Path
import torch

def unpack(src: Path, dst: Path):
    dst.mkdir(parents=True, exist_ok=True)
    with tarfile.open(src/'results.tgz') as t:
        runs = {Path(n).parent for n in t.getnames() if Path(n).match('runs/*/*/*')}   # runs/<study>/<task>
        t.extractall(dst, filter='data')
    for f in sorted(src.glob('*__restored.pt')):
        task = f.name.split('__')[0]
        d = torch.load(f, weights_only=True)
        for s in sorted(src.glob(f'{task}__*_samples.pt')): d[s.stem.split('__', 1)[1]] = torch.load(s, weights_only=True)
        # the study's folder from the archive (dst may hold other studies' runs of the same task)
        (out,) = [dst/p for p in runs if p.name == task] or [None]
        if out is None: sys.exit(f'{src}: no runs/<study>/{task} folder in results.tgz for {f.name}')
        torch.save(d, out/'restored.pt'); print('wrote', out/'restored.pt')

if __name__ == '__main__':
    if len(sys.argv) != 3: sys.exit(__doc__)
    unpack(Path(sys.argv[1]), Path(sys.argv[2]))
