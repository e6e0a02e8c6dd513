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
    cfg = {'site_name': 'medsr_nb', 'docs_dir': str(src), 'site_dir': str(site), 'use_directory_urls': True,
           'theme': {'name': 'material', 'font': False}, 'nav': nav,
           'plugins': ['search', {'mkdocs-jupyter': {'execute': False, 'include_source': True, 'ignore_h1_titles': False,
                                                     'custom_mathjax_url': MATHJAX}}],
           'markdown_extensions': ['tables', 'admonition']}
    (ROOT/'mkdocs.generated.yml').write_text(json.dumps(cfg, indent=1))  # JSON is valid YAML
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '-q', '-f', str(ROOT/'mkdocs.generated.yml')], cwd=ROOT)
    if r.returncode: sys.exit(r.returncode)
    n_mj = bundle_mathjax(site)
    print(f'docs site: {site}/index.html ({len(nbs)} notebooks; MathJax served locally on {n_mj} pages; search index built)')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--site', default=str(ROOT/'site'))
    main(Path(ap.parse_args().site).resolve())
