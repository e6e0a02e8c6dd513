"""Run the whole study: every model × task via the papermill notebooks in nbs/, then the report.

    python scripts/run_study.py --profile quick        # what `make study` runs (CPU, embedded phantoms)
    python scripts/run_study.py --profile full         # GPU-sized study
    python scripts/run_study.py --profile smoke --check  # seconds-long end-to-end run used by `make test`
    python scripts/run_study.py --profile full --source brats --tasks mri_acc4   # on real data (see data/README.md)

Stages (each notebook executed with the `medsr_nb` kernel and saved, executed, under results/; <study> is the
profile, or <profile>-<source> on real data, e.g. full-brats):
  03_train    per task × model → results/runs/<study>/<task>/<model>/train.ipynb (a `<family>_multi` model once for its
                                 task group: runs/<study>/<group>/<model>/; which task runs what: study.study_plan)
  04_evaluate per task         → results/metrics/<study>_<task>.csv
  05_segment  per task         → results/metrics/<study>_<task>_dice.csv
  07_transfer once             → results/tables/<study>_transfer.md: the phantom-trained models on the real sample
                                 scans in ../shared/data (skipped when they are absent or on real data); with --jobs,
                                 each task's restorations run as a job of their own first (cached beside its runs)
  time        once             → results/metrics/<study>_<task>_timing.csv: every model timed alone, after the stages
                                 above (medsr_nb.restore.time_study), for the summary's ms/slice
  06_report   once             → results/report/report_<study>.ipynb, tables/, figures/, README results table
With --jobs N (`make study` uses 2) the per-task stages run N at a time as separate jobs in the order their
dependencies allow (`stage_jobs`), so a costly task (CT at native resolution) does not leave a core idle.
Interrupt and rerun to resume: a stage whose `.done.json` marker exists with the same parameters is skipped, and
training resumes from its last checkpoint. Executed notebooks and markers are written atomically.
"""
import argparse, json, os, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the checkout: notebooks in nbs/; the library is the installed medsr_nb
from medsr_nb.core import (get_profile, results_dir, data_dir, shared_data_dir, atomic_path, atomic_write_json, get_task, group_tasks,
                           study_name, sweep_temporaries, folder_lock, scrub_notebook, multi_family, REAL_SOURCES, SOURCES)
from medsr_nb.study import StudyPaths, SAMPLE_SCANS, chosen_settings, read_metrics, study_plan

STAGES = ('train', 'evaluate', 'segment', 'transfer', 'time', 'report')

def execute_inprocess(src: Path, dst: Path, params: dict):
    """Run a notebook's code cells in this process (no Jupyter kernel: for machines with only the library's
    dependencies, e.g. a lent GPU box), with the parameters injected after the `parameters` cell as papermill does.
    Printed output, figures and the value of a cell's last expression (as Jupyter shows it: a `Markdown` table, a
    DataFrame) are stored in the saved notebook."""
    import ast, io, base64, contextlib, matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    nb = json.loads(src.read_text())
    ns, pyplot_show = {'__name__': '__main__'}, plt.show   # plt.show collects a cell's figures while it runs, then is put back
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        code = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if 'parameters' in c.get('metadata', {}).get('tags', []):
            code += '\n# injected parameters\n' + '\n'.join(f'{k} = {v!r}' for k, v in params.items())
        buf, figs, result = io.StringIO(), [], None
        def show(*a, **k):
            for n in plt.get_fignums():
                b = io.BytesIO(); plt.figure(n).savefig(b, format='png', dpi=80, bbox_inches='tight'); figs.append(b.getvalue())
            plt.close('all')
        plt.show = show
        try:
            tree = ast.parse(code, src.name)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(buf):
                exec(compile(tree, src.name, 'exec'), ns)
                if last is not None: result = eval(compile(ast.Expression(last.value), src.name, 'eval'), ns)
                show()
        finally:
            plt.show = pyplot_show
            c['outputs'] = [{'output_type': 'stream', 'name': 'stdout', 'text': buf.getvalue()}] if buf.getvalue() else []
            c['outputs'] += [{'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': base64.b64encode(f).decode()}} for f in figs]
            if result is not None:   # the cell's value, in the mimetypes a notebook viewer renders
                data = {'text/plain': repr(result)}
                for mime, attr in (('text/markdown', '_repr_markdown_'), ('text/html', '_repr_html_')):
                    r = getattr(result, attr, None)
                    if callable(r) and r() is not None: data[mime] = r()
                c['outputs'].append({'output_type': 'execute_result', 'execution_count': None, 'metadata': {}, 'data': data})
            sys.stdout.write(buf.getvalue()[-2000:])
            dst.write_text(json.dumps(nb, indent=1))

KERNEL_DIR = tempfile.TemporaryDirectory(prefix='medsr-kernel-')   # the kernels' IPC sockets; removed at exit

class Progress:
    "A file for a notebook's output streams while it runs: its latest line (e.g. the training bar), printed at most every `every` s."
    def __init__(self, label: str, every: float = 30.): self.label, self.every, self.last = label, every, time.time()
    def write(self, s: str):
        lines = [l.strip() for l in str(s).replace('\r', '\n').split('\n') if l.strip()]
        if lines and time.time() - self.last >= self.every:
            self.last = time.time(); print(f'[study]     {self.label}: {lines[-1][:150]}', flush=True)
    def flush(self): pass

def run_nb(nb: str, out: Path, params: dict, force: bool = False, engine: str = 'papermill') -> bool:
    "Execute `nbs/<nb>` (papermill, or in-process) into `out` unless its marker says it is done with the same params."
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
            if engine == 'papermill':
                import papermill as pm
                from traitlets.config import Config
                cfg = Config()   # IPC sockets in a temporary folder: no "running over TCP without encryption" warning
                cfg.KernelManager.transport, cfg.KernelManager.ip = 'ipc', str(Path(KERNEL_DIR.name)/'k')
                live = Progress(nb)
                pm.execute_notebook(str(src), str(tmp_nb), parameters=params, kernel_name='medsr_nb', cwd=str(ROOT/'nbs'),
                                    progress_bar=False, log_output=False, stdout_file=live, stderr_file=live, config=cfg,
                                    extra_arguments=['--IPKernelApp.log_level=CRITICAL'])   # no kernel log lines (e.g. at shutdown)
            else: execute_inprocess(src, tmp_nb, params)
        except Exception:
            failed = out.with_name(out.stem + '.failed.ipynb')
            if tmp_nb.exists(): tmp_nb.replace(failed)
            print(f'[study] FAILED {nb}; executed notebook kept at {failed}', file=sys.stderr); raise
        # published copy: no warnings or machine folders in it (a failed run above keeps everything, for debugging)
        done = json.loads(tmp_nb.read_text())
        done.setdefault('metadata', {}).get('papermill', {})['output_path'] = str(out)
        tmp.write_text(json.dumps(scrub_notebook(done, ROOT), indent=1, ensure_ascii=False) + '\n'); tmp_nb.unlink()
    atomic_write_json(marker, {'params': params, 'seconds': round(time.time() - t0, 1)})
    print(f'[study] {nb} finished in {time.time()-t0:.0f}s', flush=True)
    return True

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--profile', default='quick')
    ap.add_argument('--tasks', default=None, help="comma list (default: the profile's tasks and every level of its `multi` groups)")
    ap.add_argument('--models', default=None, help="comma list, run on every task (default: the profile's, per task: study.study_plan; unet first: the refiners build on it)")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--force', action='store_true', help='rerun stages even when done')
    ap.add_argument('--check', action='store_true', help='verify the expected outputs exist at the end')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='override a profile key (value parsed as JSON), e.g. --set size=128 --set max_steps=600')
    ap.add_argument('--engine', choices=['papermill', 'inprocess'], default='papermill',
                    help='papermill (Jupyter kernel `medsr_nb`) or inprocess (no Jupyter needed)')
    ap.add_argument('--stages', default='train,evaluate,segment,transfer,time,report', help='which stages to run')
    ap.add_argument('--source', default='synthetic', choices=['synthetic', *REAL_SOURCES],
                    help='embedded phantoms (default) or a real data set (see data/README.md)')
    ap.add_argument('--data-root', default='', help="folder of the real data set ('' = data/<source folder>)")
    ap.add_argument('--wait', action='store_true', help='wait for another study using the same results folder (default: refuse)')
    ap.add_argument('--jobs', type=int, default=1,
                    help='stages (a model of a task, an evaluation, ...) run side by side, each in its own process with '
                         'cores/jobs torch threads; dependencies are kept (see stage_jobs)')
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)   # one task of a --jobs run (no lock, no sweep)
    a = ap.parse_args()
    if a.jobs < 1: ap.error(f'--jobs must be at least 1, got {a.jobs}')
    ov = {}
    for kv in a.set:
        if '=' not in kv or not kv.split('=', 1)[0].strip(): ap.error(f"--set takes KEY=VALUE (e.g. --set size=128), got {kv!r}")
        k, v = kv.split('=', 1)
        try: ov[k.strip()] = json.loads(v)
        except json.JSONDecodeError: ov[k.strip()] = v
    try: cfg = get_profile(a.profile, **ov)
    except KeyError as e: ap.error(str(e).strip('"'))
    overrides = json.dumps(ov, sort_keys=True)
    stages = [s for s in a.stages.split(',') if s]
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages: ap.error(f"unknown stage(s) {bad or [a.stages]}; choose from {', '.join(STAGES)}")
    for t in (a.tasks or '').split(','):
        try: t and get_task(t)
        except KeyError as e: ap.error(str(e).strip('"'))
    # task → its models: the profile's models on its tasks, plus the levels of its `multi` groups (e.g. Mayo serves
    # ct_dose25 only: quarter-dose pairs, no multi-level models)
    plan = study_plan(cfg, a.tasks, a.models, SOURCES[a.source].allows if not a.tasks else None)
    tasks, models = list(plan), all_models(plan)
    if not a.child:   # a child runs what its parent checked: it skips importing torch and Lightning (seconds per stage)
        from medsr_nb.training import MODELS
        if set(models) - set(MODELS):
            ap.error(f"unknown model(s) {sorted(set(models) - set(MODELS))}; choose from {', '.join(MODELS)}")
    res = results_dir()
    study = study_name(a.profile, a.source)
    data = dict(source=a.source, data_root=str(Path(a.data_root).resolve()) if a.data_root else '')
    print(f'[study] {study}: profile={a.profile} source={a.source} tasks={tasks} models={models} overrides={overrides} results={res}')
    if a.child: return run(a, cfg, ov, stages, plan, res, study, data)
    lock = folder_lock(res, 'study', wait=a.wait)   # one study per results folder: a second one is refused (or waits)
    try: lock.__enter__()
    except RuntimeError as e: sys.exit(f'[study] {e}')
    try: run(a, cfg, ov, stages, plan, res, study, data)
    finally: lock.__exit__(None, None, None)

def all_models(plan: dict) -> list:
    "Every model of `plan`, the task with the most models first (the profile's order, then the multi-level ones)."
    return list(dict.fromkeys(m for ms in sorted(plan.values(), key=len, reverse=True) for m in ms))

def stage_jobs(plan: dict, stages: list, transfer_tasks: list = ()) -> dict:
    """The per-task stages of `plan` (task → models, `study.study_plan`) as jobs {(task, stage, model or ''): [jobs it
    waits for]}: a task's first model trains (and builds the task's data cache) before its other models, a refiner
    after the U-Net it builds on, evaluation after every model of the task, segmentation after evaluation, and the
    restoration of the task's real sample scans (07_transfer, for `transfer_tasks`) after evaluation, which chose its
    NFE and K. A multi-level model trains once, as a job of the first task of its group in the plan, after every
    level's first model (their data caches); the other levels' evaluations wait for it. Otherwise tasks never wait
    for each other."""
    from medsr_nb.training import MODELS
    owner = {}   # (group, multi-level model) → the task whose job trains it
    for t, ms in plan.items():
        for m in ms:
            if MODELS[m].multi: owner.setdefault((get_task(t).group, m), t)
    train_job = lambda t, m: (owner[(get_task(t).group, m)] if MODELS[m].multi else t, 'train', m)
    firsts = {t: train_job(t, ms[0]) for t, ms in plan.items() if ms}
    jobs = {}
    for t, ms in plan.items():
        trains = []
        if 'train' in stages:
            for m in ms:
                job = train_job(t, m); trains.append(job)
                if job[0] != t: continue   # another level trains it
                deps = [firsts[u] for u in plan if MODELS[m].multi and get_task(u).group == get_task(t).group] or [firsts[t]]
                deps = [d for d in dict.fromkeys(deps) if d != job]
                if MODELS[m].prior in ms and train_job(t, MODELS[m].prior) not in deps: deps.append(train_job(t, MODELS[m].prior))
                jobs[job] = deps
        if 'evaluate' in stages: jobs[(t, 'evaluate', '')] = list(trains)
        if 'segment' in stages:   # a group's levels share one segmenter (StudyPaths.segmenter): the first level trains it
            first = next(u for u in plan if get_task(u).group == get_task(t).group)
            jobs[(t, 'segment', '')] = ([(t, 'evaluate', '')] if 'evaluate' in stages else list(trains)) + ([(first, 'segment', '')] if first != t else [])
        if t in transfer_tasks:
            jobs[(t, 'transfer', '')] = [(t, 'evaluate', '')] if 'evaluate' in stages else list(trains)
    return jobs

def chain_lengths(jobs: dict) -> dict:
    """For each job of `stage_jobs`, the work on the longest chain that waits for it, itself included: a job counts 1,
    the training of a multi-level model as many as its levels (it trains for as many steps as their models together)."""
    after = {j: [k for k, deps in jobs.items() if j in deps] for j in jobs}
    weight = lambda j: len(group_tasks(get_task(j[0]).group)) if j[1] == 'train' and multi_family(j[2]) else 1
    memo = {}
    def length(j):
        if j not in memo: memo[j] = weight(j) + max((length(k) for k in after[j]), default=0)
        return memo[j]
    return {j: length(j) for j in jobs}

def run_parallel(a, plan, stages, transfer_tasks=()):
    """The per-task stages (`stage_jobs`), `a.jobs` at a time, each in a child `run_study.py --child` process whose
    kernels get cores/jobs torch threads (OMP_NUM_THREADS) and sleep instead of spinning while they wait
    (OMP_WAIT_POLICY=PASSIVE: spinning threads of two jobs on shared cores slowed training ~10× when measured).
    Scheduling stages rather than whole tasks keeps every slot busy when one task costs more than another (CT at
    native resolution: its chain was 31 min against MRI's 22 when each task ran in one process). A free slot takes
    the ready job on the longest chain of jobs still to run after it (`chain_lengths`: a multi-level model's chain
    through the other levels' data and its refiner to every level's evaluation starts first), then the job of the task
    with the most work left (listed order breaks ties). Lines are printed as they come,
    prefixed with the job; a failed job fails the run after the others end, and the jobs waiting for it are skipped."""
    import subprocess, threading, queue
    threads = max(1, (os.cpu_count() or 1) // a.jobs)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), MEDSR_JOBS=str(a.jobs))
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    base = [sys.executable, '-u', __file__, '--child', '--profile', a.profile, '--seed', str(a.seed), '--engine', a.engine,
            '--source', a.source, '--data-root', a.data_root] + [x for kv in a.set for x in ('--set', kv)]
    base += ['--force'] if a.force else []
    tasks = list(plan)
    pending, done, failed, skipped, running = stage_jobs(plan, stages, transfer_tasks), set(), [], [], 0
    chain = chain_lengths(pending)
    print(f'[study] {len(pending)} jobs over {len(tasks)} tasks, {a.jobs} at a time, {threads} torch thread(s) each', flush=True)
    finished, lock, t0 = queue.Queue(), threading.Lock(), time.time()
    def one(job):
        t, stage, m = job; tag = f'[{t}{" " + m if m else ""}{"" if stage == "train" else " " + stage}]'
        ms = [x for x in plan[t] if stage != 'transfer' or not multi_family(x)]   # the real scans: per-task models only
        cmd = base + ['--tasks', t, '--stages', stage, '--models', m or ','.join(ms)]
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in p.stdout:
            with lock: print(f'{tag} {line}', end='', flush=True)
        finished.put((job, p.wait()))
    while pending or running:
        while lost := [j for j, deps in pending.items() if any(d in failed or d in skipped for d in deps)]:
            for job in lost: skipped.append(job); del pending[job]   # and whatever waits for them, transitively
        ready = [j for j, deps in pending.items() if all(d in done for d in deps)]
        left = {t: sum(1 for j in pending if j[0] == t) for t in tasks}
        ready.sort(key=lambda j: (-chain[j], -left[j[0]], tasks.index(j[0])))
        while ready and running < a.jobs:
            job = ready.pop(0); del pending[job]; running += 1
            print(f'[study] start {job[0]} {job[1]} {job[2]} (elapsed {(time.time() - t0) / 60:.1f} min, {len(pending)} waiting)', flush=True)
            threading.Thread(target=one, args=(job,), daemon=True).start()
        if not running: break
        job, rc = finished.get(); running -= 1
        if rc: failed.append(job)
        else: done.add(job)
    if failed or skipped:
        sys.exit(f'[study] FAILED: {", ".join(" ".join(x for x in j if x) for j in failed)} (output above, prefixed with the job)'
                 + (f'; not run: {", ".join(" ".join(x for x in j if x) for j in skipped)}' if skipped else ''))

def time_stage(paths, plan, force=False):
    """Time every evaluated model of each task alone (`medsr_nb.restore.time_study`: warm-up, the fastest of 5 rounds, 4 test
    slices at the chosen NFE and K) into metrics/<study>_<task>_timing.csv, the summary's ms/slice. A task whose
    timing is newer than its restored images is skipped unless forced."""
    from medsr_nb.restore import time_study
    for t, models in plan.items():
        out, src = paths.metrics(t, 'timing'), paths.restored(t)
        if not src.exists(): print(f'[study] time: {t} has no restored test images yet (run evaluate first); skipped'); continue
        if not force and out.exists() and out.stat().st_mtime >= src.stat().st_mtime: print(f'[study] time: {out.name} is up to date'); continue
        time_study(paths.task_dir(t), models, out, chosen_settings(read_metrics(paths.metrics(t))),
                   checkpoint=lambda m, t=t: paths.checkpoint(t, m))
    return True

def run(a, cfg, ov, stages, plan, res, study, data):
    # a run killed hard (SIGKILL, power loss) can leave hidden temporaries of atomic writes (targets are never partial);
    # only those whose writing process is gone are removed, so a cache build in flight elsewhere keeps its files
    if not a.child:
        for root in (res, data_dir()): sweep_temporaries(root)
    kw = dict(force=a.force, engine=a.engine)
    tasks, models = list(plan), all_models(plan)
    per_task = [s for s in stages if s in ('train', 'evaluate', 'segment')]
    transfer_tasks = [t for t in tasks if t in SAMPLE_SCANS] if a.source == 'synthetic' else []   # tasks with real sample scans
    if 'transfer' in stages and transfer_tasks and not shared_data_dir().exists():
        print(f'[study] 07_transfer skipped: no shared sample scans at {shared_data_dir()} (set MEDSR_SHARED_DATA)')
        transfer_tasks = []
    if a.jobs > 1 and per_task:
        # each task's real-scan restorations run as a job beside the other task's stages; the one 07_transfer run
        # below then reuses them (its cache) and only scores, tabulates and draws. One task alone still gains: its
        # refiners train side by side once its U-Net is done (a lone task ran stage after stage: on a lent H200 its
        # two refiners took 137 + 127 s one after the other)
        run_parallel(a, plan, per_task, transfer_tasks if 'transfer' in stages else [])
        per_task = []
    paths = StudyPaths(study, res)
    plan_of, plan = plan, []   # (notebook, executed copy, parameters, run_nb options): counted first, for "stage k of n" and the ETA
    for task in (tasks if per_task else []):
        if 'train' in per_task:
            for model in plan_of[task]:
                if paths.executed('train', task, model) in [p[1] for p in plan]: continue   # a multi-level model: once per group
                plan.append(('03_train.ipynb', paths.executed('train', task, model),
                             dict(model=model, task=task, profile=a.profile, seed=a.seed, overrides=ov, **data), kw))
        if 'evaluate' in per_task:
            plan.append(('04_evaluate.ipynb', paths.executed('evaluate', task),
                         dict(task=task, profile=a.profile, models=plan_of[task], seed=a.seed, overrides=ov, **data), kw))
        if 'segment' in per_task:
            plan.append(('05_segment.ipynb', paths.executed('segment', task),
                         dict(task=task, profile=a.profile, models=plan_of[task], seed=a.seed, overrides=ov, **data), kw))
    if 'transfer' in stages and transfer_tasks:   # a --child job: one task's restorations, its notebook beside its runs
        out = paths.executed('transfer', transfer_tasks[0] if a.child else None)
        plan.append(('07_transfer.ipynb', out,
                     dict(profile=a.profile, tasks=list(transfer_tasks), models=[m for m in models if not multi_family(m)], seed=a.seed,
                          overrides=ov, shared=str(shared_data_dir())), dict(force=True, engine=a.engine)))
    if 'time' in stages and not a.child:   # after every other stage, so nothing else shares the machine while it times
        plan.append(('time', None, dict(tasks=list(tasks)), dict(force=a.force)))
    if 'report' in stages:
        plan.append(('06_report.ipynb', paths.executed('report'),
                     dict(profile=a.profile, tasks=list(tasks), models=models, overrides=ov,
                          source=a.source), dict(force=True, engine=a.engine)))
    ran, t0 = [], time.time()
    for i, (nb, out, params, opts) in enumerate(plan):
        el = time.time() - t0
        eta = f', ETA ≈ {el / i * (len(plan) - i) / 60:.0f} min' if i else ''
        print(f'[study] stage {i + 1}/{len(plan)}: {nb} {params.get("task") or ",".join(params.get("tasks", []))} {params.get("model", "")}'
              f' (elapsed {el / 60:.1f} min{eta})', flush=True)
        ran.append(time_stage(paths, plan_of, **opts) if nb == 'time' else run_nb(nb, out, params, **opts))
    if not all(ran): print('[study] some study notebooks do not exist yet; ran what exists')
    if a.check:
        need = [paths.metrics(t) for t in tasks] + [paths.metrics(t, 'dice') for t in tasks]
        need += [paths.table('summary', 'csv'), paths.executed('report')]
        if 'transfer' in stages and transfer_tasks: need += [paths.table('transfer')]
        missing = [str(p) for p in need if not p.exists()]
        if missing: sys.exit(f'[study] missing outputs: {missing}')
        print('[study] check: all expected outputs exist')

if __name__ == '__main__':
    main()
