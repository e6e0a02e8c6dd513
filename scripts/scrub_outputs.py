#!/usr/bin/env python
"""Take machine-specific text out of stored notebook outputs (`medsr_nb.core.scrub_notebook`): stderr streams
dropped, this machine's folders made relative. With --check, change nothing and exit 1 listing the notebooks
that still need it (what `make test` runs on nbs/ and results/report/).

    python scripts/scrub_outputs.py nbs/*.ipynb results/report/*.ipynb [--check]
"""
import argparse, json, sys
from pathlib import Path
from medsr_nb.core import scrub_notebook, atomic_write_text

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='+', type=Path)
    ap.add_argument('--check', action='store_true', help='report, do not rewrite')
    a = ap.parse_args()
    dirty = []
    for p in a.notebooks:
        try: nb = json.loads(p.read_text())
        except (OSError, ValueError) as e: sys.exit(f"{p}: not a readable notebook ({e})")
        s = scrub_notebook(nb)
        if s == nb: continue
        dirty.append(p)
        if not a.check: atomic_write_text(p, json.dumps(s, indent=1, ensure_ascii=False) + '\n')
    if a.check and dirty:
        print('machine-specific text in stored outputs (run scripts/scrub_outputs.py on them):', *map(str, dirty), sep='\n  ')
        sys.exit(1)
    if not a.check: print(f'scrubbed {len(dirty)} of {len(a.notebooks)} notebooks')

if __name__ == '__main__': main()
