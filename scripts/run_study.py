"""Run the whole study: every model × task via the papermill notebooks in nbs/, then the report.

    python scripts/run_study.py --profile quick        # what `make study` runs (CPU, embedded phantoms)
    python scripts/run_study.py --profile full         # GPU-sized study
    python scripts/run_study.py --profile smoke --check  # seconds-long end-to-end run used by `make test`

Stages (each notebook executed with the `medsr_nb` kernel and saved, executed, under results/):
  03_train    per task × model → results/runs/<profile>/<task>/<model>/train.ipynb
  04_evaluate per task         → results/metrics/<profile>_<task>.csv
  05_segment  per task         → results/metrics/<profile>_<task>_dice.csv
  06_report   once             → results/report/report_<profile>.ipynb, tables/, figures/, README results table
Interrupt and rerun to resume: a stage whose `.done.json` marker exists with the same parameters is skipped, and
training resumes from its last checkpoint. Executed notebooks and markers are written atomically.
"""
import argparse, json, sys, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from medsr_nb.core import get_profile, results_dir, atomic_path, atomic_write_json, get_task  # noqa: E402

STUDY_MODELS = ['unet', 'esrgan', 'dit', 'sit', 'sit_deg']

def run_nb(nb: str, out: Path, params: dict, force: bool = False) -> bool:
    "Execute `nbs/<nb>` with papermill into `out` unless its marker says it is done with the same params."
    import papermill as pm
    marker = out.with_suffix('.done.json')
    if not force and marker.exists() and json.loads(marker.read_text()).get('params') == params:
        print(f'[study] done already: {out.relative_to(results_dir().parent) if out.is_relative_to(results_dir().parent) else out}')
        return True
    src = ROOT/'nbs'/nb
    if not src.exists(): print(f'[study] {nb} does not exist yet: skipped'); return False
    print(f'[study] {nb} {params}', flush=True)
    t0 = time.time()
    with atomic_path(out) as tmp:
        tmp_nb = tmp.with_name(tmp.name + '.ipynb')
        try:
            pm.execute_notebook(str(src), str(tmp_nb), parameters=params, kernel_name='medsr_nb',
                                cwd=str(ROOT/'nbs'), progress_bar=False, log_output=False)
        except Exception:
            failed = out.with_name(out.stem + '.failed.ipynb')
            if tmp_nb.exists(): tmp_nb.replace(failed)
            print(f'[study] FAILED {nb}; executed notebook kept at {failed}', file=sys.stderr); raise
        tmp_nb.replace(tmp)
    atomic_write_json(marker, {'params': params, 'seconds': round(time.time() - t0, 1)})
    print(f'[study] {nb} finished in {time.time()-t0:.0f}s', flush=True)
    return True

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--profile', default='quick')
    ap.add_argument('--tasks', default=None, help='comma list (default: the profile\'s tasks)')
    ap.add_argument('--models', default=','.join(STUDY_MODELS))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--force', action='store_true', help='rerun stages even when done')
    ap.add_argument('--check', action='store_true', help='verify the expected outputs exist at the end')
    a = ap.parse_args()
    cfg = get_profile(a.profile)
    tasks = a.tasks.split(',') if a.tasks else cfg['tasks']
    for t in tasks: get_task(t)
    models = a.models.split(',')
    res = results_dir()
    print(f'[study] profile={a.profile} tasks={tasks} models={models} results={res}')
    ran = []
    for task in tasks:
        for model in models:
            ran.append(run_nb('03_train.ipynb', res/'runs'/a.profile/task/model/'train.ipynb',
                              dict(model=model, task=task, profile=a.profile, seed=a.seed), a.force))
        ran.append(run_nb('04_evaluate.ipynb', res/'runs'/a.profile/task/'evaluate.ipynb',
                          dict(task=task, profile=a.profile, models=','.join(models), seed=a.seed), a.force))
        ran.append(run_nb('05_segment.ipynb', res/'runs'/a.profile/task/'segment.ipynb',
                          dict(task=task, profile=a.profile, models=','.join(models), seed=a.seed), a.force))
    ran.append(run_nb('06_report.ipynb', res/'report'/f'report_{a.profile}.ipynb',
                      dict(profile=a.profile, tasks=','.join(tasks), models=','.join(models)), True))
    if not all(ran): print('[study] some study notebooks do not exist yet; ran what exists')
    if a.check:
        need = [res/'metrics'/f'{a.profile}_{t}.csv' for t in tasks] + [res/'metrics'/f'{a.profile}_{t}_dice.csv' for t in tasks]
        need += [res/'tables'/f'{a.profile}_summary.csv', res/'report'/f'report_{a.profile}.ipynb']
        missing = [str(p) for p in need if not p.exists()]
        if missing: sys.exit(f'[study] missing outputs: {missing}')
        print('[study] check: all expected outputs exist')

if __name__ == '__main__':
    main()
