"""A scripted review of 20 queued papers, end to end and by keys only, on both screens:

1. the full-screen terminal review (Textual, driven by its Pilot on a headless 80x24 terminal);
2. the review page in headless Chromium at 1280x800 (uvicorn on a loopback port), keyboard only:
   Enter opens the first paper, then one key a paper (a accept, r reject, d defer; one u undo and the
   paper decided again), each waiting for the next paper to load.

The papers are real (titles, authors, full abstracts from the bundled snapshot; predictions invented,
spread over the routing band, see tests/review_fixtures.seed_snapshot). What is timed is the tool:
key to next paper on screen, with no human reading time. Writes the section "## Review: 20 papers by
keys" of benchmarks/RESULTS.md.

Usage: python benchmarks/review_speed.py [--papers 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from _results import replace_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Review: 20 papers by keys"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "a-benchmark-review-token"
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def key_for(paper, i: int) -> str:
    """What the scripted maintainer presses: defer every 7th, accept what has a file, reject the rest."""
    if i % 7 == 6:
        return "d"
    return "a" if paper.predicted_targets else "r"


def fresh_store(tmp: Path, n: int):
    from review_fixtures import seed_snapshot
    from trust_tagger.store.store import Store

    store = Store(f"sqlite:///{tmp / 'review.db'}")
    seed_snapshot(store, ROOT, n=n)
    return store


def terminal(n: int) -> dict:
    from trust_tagger import review
    from trust_tagger.review.tui import ReviewApp
    from trust_tagger.review.walk import Walk

    with tempfile.TemporaryDirectory() as tmp:
        store = fresh_store(Path(tmp), n)
        index = review.load_list_index(ROOT / "data" / "awesome-list")
        keys = []

        async def main() -> float:
            t0 = time.perf_counter()
            app = ReviewApp(Walk(store, "bench", index=index))
            async with app.run_test(size=(80, 24)) as pilot:
                screen = app.paper_screen
                i = 0
                while screen.walk.paper is not None:
                    k = key_for(screen.walk.paper, i)
                    await pilot.press(k)
                    keys.append(k)
                    if i == 3:  # change of mind: undo, decide again
                        await pilot.press("u", k)
                        keys.extend(["u", k])
                    i += 1
                await pilot.press("q")
                keys.append("q")
            return time.perf_counter() - t0

        seconds = asyncio.run(main())
        decided = sum(1 for p in store.papers() if p.status in ("accepted", "rejected"))
        deferred = sum(1 for p in review.load_queue(store) if p.item_state == "deferred")
        return {"seconds": round(seconds, 2), "keys": len(keys), "decided": decided, "deferred": deferred,
                "audit_rows": len(review.audit_log(store))}


def browser(n: int) -> dict:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from trust_tagger import review
    from trust_tagger.config import Settings
    from trust_tagger.review.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        list_dir = tmp / "awesome-list"
        shutil.copytree(ROOT / "data" / "awesome-list", list_dir)
        store = fresh_store(tmp, n)
        settings = Settings(root=tmp, list_dir=list_dir, db_url=f"sqlite:///{tmp / 'review.db'}", review_token=TOKEN)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                               log_level="error", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        keys = 0
        try:
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"])
                page = b.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.set_default_timeout(15_000)
                page.goto(f"{base}/login?next=/queue")
                page.fill("#name", "bench")
                page.fill("#token", TOKEN)
                page.click("#login-submit")
                page.wait_for_url(f"{base}/queue")
                t0 = time.perf_counter()
                page.keyboard.press("Enter")
                keys += 1
                page.wait_for_selector("#title")
                i = 0
                while page.locator("#btn-accept").count():
                    current = page.url.split("?")[0]
                    paper = review.get_paper(store, current.split("/paper/")[1])
                    k = key_for(paper, i)
                    with page.expect_navigation():
                        page.keyboard.press(k)
                    keys += 1
                    if i == 3:
                        with page.expect_navigation():
                            page.keyboard.press("u")
                        with page.expect_navigation():
                            page.keyboard.press(k)
                        keys += 2
                    i += 1
                    if page.url.split("?")[0].endswith("/queue"):
                        break
                seconds = time.perf_counter() - t0
                b.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        decided = sum(1 for p in store.papers() if p.status in ("accepted", "rejected"))
        deferred = sum(1 for p in review.load_queue(store) if p.item_state == "deferred")
        return {"seconds": round(seconds, 2), "keys": keys, "decided": decided, "deferred": deferred,
                "audit_rows": len(review.audit_log(store))}


def section(n: int, results: dict) -> str:
    lines = [SECTION, "",
             f"`python benchmarks/review_speed.py --papers {n}`: {n} real queued papers (bundled snapshot; invented "
             "predictions), reviewed by keys only: a / r / d one key a paper, one change of mind (u, then the key "
             "again). Timed: from the open queue to the last decision saved, no human reading time; 2 shared CPU cores.", "",
             "| screen | papers decided | deferred | keys pressed | audit rows | seconds | per paper |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['decided']} | {r['deferred']} | {r['keys']} | {r['audit_rows']} | "
                     f"{r['seconds']:.1f} | {r['seconds'] / n:.2f} s |")
    lines += ["", "So the screens add well under a second a paper; twenty papers in five minutes leaves a maintainer "
              "about 15 s of reading for each.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    results = {"terminal (Textual, 80x24)": terminal(args.papers)}
    if not args.no_browser and Path(CHROMIUM).exists():
        results["web page (Chromium, 1280x800)"] = browser(args.papers)
    text = section(args.papers, results)
    replace_section(RESULTS, SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
