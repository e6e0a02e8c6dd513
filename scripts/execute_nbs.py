"""Execute module notebooks in place so their outputs (figures, printed figures) are stored for the docs site.

Cells flagged with a test flag from settings.ini (`#| slow`) are skipped exactly as `nbdev_test` skips them, so this
never trains for minutes; the export cell is skipped too. Afterwards run `nbdev_clean`.
Usage: python scripts/execute_nbs.py [notebook ...]   (default: every nbs/0[0-2]*.ipynb and nbs/index.ipynb)
"""
import sys, os, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.process import NBProcessor
from fastcore.xtras import working_directory

def shrink_images(nb, max_px: int = 1100, max_kb: int = 250):
    "Large figures (noise textures compress badly as PNG) are stored as downscaled JPEG to keep notebooks small."
    import base64, io
    from PIL import Image
    for c in nb.cells:
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if 'image/png' not in data or len(data['image/png']) < max_kb * 1365: continue
            im = Image.open(io.BytesIO(base64.b64decode(data['image/png']))).convert('RGB')
            if im.width > max_px: im = im.resize((max_px, round(im.height * max_px / im.width)), Image.LANCZOS)
            b = io.BytesIO(); im.save(b, format='JPEG', quality=85)
            del data['image/png']; data['image/jpeg'] = base64.b64encode(b.getvalue()).decode()

def execute(fn: Path, skip_flags) -> bool:
    raw = read_nb(fn)
    proc = NBProcessor(fn, process=True).nb  # parses directives_ per cell
    skip = []
    for c in proc.cells:
        d = getattr(c, 'directives_', {}) or {}
        skip.append(c.cell_type != 'code' or 'nbdev_export(' in c.source or bool(set(skip_flags) & d.keys())
                    or d.get('eval:', [''])[0].lower() == 'false')
    os.environ['IN_TEST'] = '1'
    k = CaptureShell(fn)
    t0 = time.time()
    with working_directory(fn.parent):
        todo = [c for c, s in zip(raw.cells, skip) if not s]
        for c in raw.cells:
            if c.cell_type == 'code': c.outputs = []
        for c in todo:
            k.cell(c)
            if k.exc: sys.stderr.write(k.prettytb(fname=fn) + '\n'); return False
    shrink_images(raw)
    write_nb(raw, fn); print(f'executed {fn.name} in {time.time()-t0:.0f}s'); return True

if __name__ == '__main__':
    cfg = get_config()
    flags = cfg.get('tst_flags', '').split()
    nbs = [Path(a).resolve() for a in sys.argv[1:]] or sorted(Path(cfg.nbs_path).glob('0[0-2]*.ipynb')) + [Path(cfg.nbs_path)/'index.ipynb']
    bad = [n.name for n in nbs if not execute(Path(n), flags)]
    if bad: sys.exit(f'failed: {bad}')
