"""Check the built docs site in headless Chromium: pages render with their text and figures.

Serves `site/` on 127.0.0.1, lets Chromium load each page (JavaScript on), dumps the rendered DOM and checks the
expected text and the number of <img> figures (an API page with signatures, the executed study report with its
figures); saves a screenshot of each page to `site/_check/` (kept with the site as the check's artefacts).
Usage: python scripts/check_docs.py [--site DIR]   (installs nothing; needs /usr/bin/chromium)
"""
import argparse, functools, html, http.server, re, shutil, subprocess, sys, tempfile, threading
from pathlib import Path

# page → (texts that must appear, minimum number of figures)
CHECKS = {
    '': (['Two commands', 'make test', 'What the study does'], 0),
    '00_core/': (['Atomic writes', 'seed_everything'], 0),
    '01b_physics/': (['back-projection', 'fastmri_mask'], 1),
    '02e_training/': (['Predict-and-refine'], 0),
    'api/': (["build_dit(name: str = 'tiny', **kw) -> DiT", 'restore_volume(', 'scrub_notebook('], 0),
    'results_report_quick/': (['PSNR', 'LPIPS'], 4),       # the executed study report, with its figures
    'results_transfer_quick/': (['PSNR'], 1),
}
RAW_TEX = re.compile(r'\$[^$\s][^$]{0,80}\$|\\frac|\\times|\\sigma')   # TeX left unrendered in the visible text

def chromium() -> str:
    for c in ['chromium', 'chromium-browser', 'google-chrome']:
        if shutil.which(c): return shutil.which(c)
    sys.exit('chromium not found: install it (Debian: apt-get install -y chromium)')

def render(url: str, shot: Path) -> str:
    base = [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            f'--user-data-dir={tempfile.mkdtemp()}', '--virtual-time-budget=5000', '--window-size=1280,2000']
    subprocess.run(base + [f'--screenshot={shot}', url], capture_output=True, timeout=120)
    return subprocess.run(base + ['--dump-dom', url], capture_output=True, text=True, timeout=120).stdout

def main(site: Path) -> int:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(site))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    out = site/'_check'; out.mkdir(exist_ok=True)
    fails = 0
    for page, (texts, n_img) in CHECKS.items():
        if not (site/page/'index.html').exists(): print(f'FAIL {page or "home"}: not built'); fails += 1; continue
        url = f'http://127.0.0.1:{srv.server_address[1]}/{page}'
        dom = render(url, out/f'{page.strip("/") or "home"}.png')
        visible = re.sub(r'<(script|style)\b.*?</\1>', '', dom, flags=re.S)   # MathJax keeps the TeX source in <script>
        text = ' '.join(html.unescape(re.sub(r'<[^>]+>', '', visible)).split())
        raw = RAW_TEX.findall(text)
        missing = [t for t in texts if ' '.join(t.split()) not in text]
        imgs = len(re.findall(r'<img\b[^>]*src="data:image/(?:png|jpeg)', dom))
        ok = bool(dom) and not missing and imgs >= n_img and not raw
        fails += not ok
        print(f'{"ok  " if ok else "FAIL"} {page or "home"}: {len(dom)} bytes of DOM, {imgs} figures'
              + (f', missing text {missing}' if missing else '') + (f' (need {n_img} figures)' if imgs < n_img else '')
              + (f', raw TeX {raw[:3]}' if raw else ''))
    srv.shutdown()
    # search: MkDocs' client-side search reads this index; the words a user types must be in it
    idx = site/'search'/'search_index.json'
    words = ['DiT', 'build_dit', 'medsr-restore']
    found = [w for w in words if idx.exists() and w in idx.read_text()]
    ok = len(found) == len(words); fails += not ok
    print(f'{"ok  " if ok else "FAIL"} search index: {"has" if ok else "lacks"} {[w for w in words if w not in found] or words}')
    print(f'docs check: {len(CHECKS)+1-fails} passed, {fails} failed')
    return 1 if fails else 0

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--site', default=str(Path(__file__).resolve().parent.parent/'site'))
    sys.exit(main(Path(ap.parse_args().site).resolve()))
