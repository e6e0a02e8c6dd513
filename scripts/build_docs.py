"""Offline docs site from the notebooks (MkDocs + mkdocs-jupyter), for machines without Quarto.

`nbdev_docs` (Quarto) stays the canonical nbdev renderer where Quarto exists; this builds the same notebooks, with
the outputs stored in them, into `site/`. Cells marked `#| hide` are dropped and nbdev directive lines are removed,
as nbdev's own renderer does. Usage: python scripts/build_docs.py [--site DIR]
"""
import json, os, re, shutil, subprocess, sys, argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r'^\s*#\s*\|')
MATHJAX = 'MEDSR_MATHJAX_URL'   # placeholder in the pages, replaced by each page's relative path to the bundled MathJax

def bundle_mathjax(site: Path) -> int:
    "Serve MathJax 2 from the site itself (the `jupyter-server-mathjax` package; no CDN): copy it, point every page at it."
    try: import jupyter_server_mathjax
    except ImportError:
        print('warning: jupyter-server-mathjax is not installed: maths stays raw TeX (pip install jupyter-server-mathjax)')
        return 0
    dst = site/'assets'/'mathjax'
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent/'static', dst, dirs_exist_ok=True)
    n = 0
    for html in site.rglob('*.html'):
        t = html.read_text()
        if MATHJAX not in t: continue
        rel = os.path.relpath(dst/'MathJax.js', html.parent)
        html.write_text(t.replace(MATHJAX, f'{rel}?config=TeX-AMS-MML_HTMLorMML-full,Safe')); n += 1
    return n

def clean_nb(src: Path, dst: Path):
    nb = json.loads(src.read_text())
    cells = []
    for c in nb['cells']:
        text = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if c['cell_type'] == 'raw': continue  # frontmatter
        if c['cell_type'] == 'code':
            lines = text.split('\n')
            dirs = [l for l in lines if DIRECTIVE.match(l)]
            hide = any(re.search(r'\|\s*hide\b', l) for l in dirs)
            only_default_exp = any('default_exp' in l for l in dirs) and not any(re.search(r'\|\s*export', l) for l in dirs)
            if hide or only_default_exp: continue
            text = '\n'.join(l for l in lines if not DIRECTIVE.match(l)).strip('\n')
            if not text: continue
        c['source'] = text
        cells.append(c)
    nb['cells'] = cells
    dst.write_text(json.dumps(nb))

def title_of(nb: Path) -> str:
    for c in json.loads(nb.read_text())['cells']:
        s = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        m = re.search(r'^#\s+(.+)$', s, re.M)
        if c['cell_type'] == 'markdown' and m: return m.group(1).strip()
    return nb.stem

def api_reference() -> str:
    """Markdown API reference of every exported symbol (each module's `__all__`, as nbdev exports it): signature and
    docstring of functions and classes, and of the public methods a class defines itself."""
    import importlib, inspect, pkgutil, medsr_nb
    class Raw(str):   # a postponed annotation (`from __future__ import annotations`) shown as written, not quoted
        def __repr__(self): return str(self)
    def sig(obj, name):
        try: s = inspect.signature(obj)
        except (TypeError, ValueError): return name
        raw = lambda a: Raw(a) if isinstance(a, str) else a
        s = s.replace(parameters=[p.replace(annotation=raw(p.annotation)) for p in s.parameters.values()],
                      return_annotation=raw(s.return_annotation))
        text = f'{name}{s}'
        if len(text) <= 100: return text
        ps = []   # long: one parameter per line (a bare `*` before the first keyword-only one, as Python writes it)
        for p in s.parameters.values():
            if p.kind is p.KEYWORD_ONLY and not any(x.startswith('*') for x in ps): ps.append('*')
            ps.append(str(p))
        ret = '' if s.return_annotation is s.empty else f' -> {s.return_annotation!r}'
        return f'{name}(\n    ' + ',\n    '.join(ps) + f'\n){ret}'
    def own_doc(f): return inspect.cleandoc(getattr(f, '__doc__', None) or '')   # not a docstring inherited from nn.Module
    def doc(obj): return (inspect.getdoc(obj) or '').strip()
    out = ['# API reference', '',
           'Every exported symbol of the `medsr_nb` package, by module: signature and docstring (generated from the '
           'installed library by `scripts/build_docs.py`; the notebook of the same name explains and tests it).', '']
    for m in sorted(pkgutil.iter_modules(medsr_nb.__path__), key=lambda m: m.name):
        if m.name.startswith('_'): continue
        mod = importlib.import_module(f'medsr_nb.{m.name}')
        names = [n for n in getattr(mod, '__all__', []) if not n.startswith('_')]
        if not names: continue
        out += [f'## medsr_nb.{m.name}', '', doc(mod), '']
        for n in names:
            obj = getattr(mod, n, None)
            if obj is None: continue
            if inspect.isclass(obj):
                out += [f'### class `{n}`', '', '```python', f'class {sig(obj, n)}', '```', '', doc(obj), '']
                for mn, mo in vars(obj).items():
                    if mn.startswith('_') or not (inspect.isfunction(mo) or isinstance(mo, (property, staticmethod, classmethod))): continue
                    f = mo.fget if isinstance(mo, property) else getattr(mo, '__func__', mo)
                    out += ['```python', (f'{n}.{mn}  # property' if isinstance(mo, property) else f'{n}.{sig(f, mn)}'), '```', '', own_doc(f), '']
            elif callable(obj):
                out += [f'### `{n}`', '', '```python', sig(obj, n), '```', '', doc(obj), '']
            else:
                out += [f'### `{n}`', '', f'`{type(obj).__name__}` constant.', '']
    return '\n'.join(out) + '\n'

def main(site: Path):
    src = ROOT/'_docs_src'
    shutil.rmtree(src, ignore_errors=True); src.mkdir()
    nbs = sorted((ROOT/'nbs').glob('*.ipynb'))
    nav = []
    for nb in nbs:
        clean_nb(nb, src/nb.name)
        entry = {('Home' if nb.stem == 'index' else f'{nb.stem}: {title_of(nb)}'): nb.name}
        if nb.stem == 'index': nav.insert(0, entry)
        else: nav.append(entry)
    (src/'data.md').write_text((ROOT/'data'/'README.md').read_text())
    nav.append({'Data sets': 'data.md'})
    # the executed study reports (results/report/, written by `make study` and the GPU profile) as pages
    reports = sorted((ROOT/'results'/'report').glob('*.ipynb'))
    for nb in reports: clean_nb(nb, src/f'results_{nb.name}')
    if reports: nav.append({'Results': [{f'{nb.stem.replace("_", " ")}: {title_of(nb)}': f'results_{nb.name}'} for nb in reports]})
    (src/'api.md').write_text(api_reference())
    nav.append({'API reference': 'api.md'})
    cfg = {'site_name': 'medsr_nb', 'docs_dir': str(src), 'site_dir': str(site), 'use_directory_urls': True,
           'theme': {'name': 'material', 'font': False}, 'nav': nav,
           'plugins': ['search', {'mkdocs-jupyter': {'execute': False, 'include_source': True, 'ignore_h1_titles': False,
                                                     'custom_mathjax_url': MATHJAX}}],
           'markdown_extensions': ['tables', 'admonition']}
    (ROOT/'mkdocs.generated.yml').write_text(json.dumps(cfg, indent=1))  # JSON is valid YAML
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '-q', '-f', str(ROOT/'mkdocs.generated.yml')], cwd=ROOT)
    if r.returncode: sys.exit(r.returncode)
    n_mj = bundle_mathjax(site)
    print(f'docs site: {site}/index.html ({len(nbs)} notebooks, {len(reports)} study reports, API reference; MathJax served locally on {n_mj} pages; search index built)')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--site', default=str(ROOT/'site'))
    main(Path(ap.parse_args().site).resolve())
