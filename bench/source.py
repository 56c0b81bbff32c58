"""Benchmark of the source stage against real git servers on 127.0.0.1.

    .venv/bin/python bench/source.py [--polls 30] [--apps 100]

Measures the first fetch, a no-change poll (the common case: ``ls-remote``,
nothing fetched, the checkout reused) over git:// and smart HTTP with basic
auth, and what 100 apps on one repository and revision cost, polled one
after another and all at once.  Targets: a no-change poll under 50 ms; 100
apps cost one fetch.  Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.source import Credential, GitSource, SecretSource, SourceSettings, UrlPolicy
from tests.support.git_servers import GitDaemon, SmartHttp
from tests.support.repos import GitRepo

TOKEN = "bench-token-0c9d8e7f"  # noqa: S105 (the loopback server's own)


def make_repo(root: Path, files: int) -> Path:
    work = GitRepo(root / "work")
    for i in range(files):
        body = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}}}\n"
        work.write(f"apps/app{i % 10}/cm{i}.yaml", body)
    for n in range(20):  # some history, which a shallow fetch does not bring
        work.write("apps/history.txt", f"{n}\n")
        work.commit(f"change {n}")
    bare = root / "srv" / "deploy.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    return bare


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def polls(source: GitSource, url: str, count: int) -> dict[str, float]:
    source.checkout(url, "main")  # the first fetch
    times = []
    for _ in range(count):
        start = time.perf_counter()
        source.checkout(url, "main")
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median_ms": ms(statistics.median(times)),
        "p95_ms": ms(times[int(len(times) * 0.95) - 1]),
        "max_ms": ms(times[-1]),
    }


def many_apps(source: GitSource, url: str, apps: int, together: bool) -> dict[str, float]:
    start = time.perf_counter()
    if together:
        threads = [threading.Thread(target=source.checkout, args=(url, "main")) for _ in range(apps)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for _ in range(apps):
            source.checkout(url, "main")
    c = source.counters
    return {
        "fetches": c.fetch,
        "ls_remotes": c.ls_remote,
        "exports": c.export,
        "total_ms": ms(time.perf_counter() - start),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=30)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    os.environ["BENCH_GIT_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, args.files)
        daemon = GitDaemon(root / "srv")
        http = SmartHttp(root / "srv", "bot", TOKEN)
        try:
            cred = Credential(http.url(""), "bot", password=SecretSource(env="BENCH_GIT_TOKEN"))

            def source(name: str) -> GitSource:
                return GitSource(root / name, SourceSettings(UrlPolicy(("git", "http")), (cred,)))

            first = source("first")
            start = time.perf_counter()
            first.checkout(daemon.url("deploy.git"), "main")
            first_ms = ms(time.perf_counter() - start)
            result = {
                "benchmark": "source",
                "repo_files": args.files + 1,
                "first_fetch_git_ms": first_ms,
                "no_change_poll_git": polls(source("git"), daemon.url("deploy.git"), args.polls),
                "no_change_poll_http_auth": polls(source("http"), http.url("deploy.git"), args.polls),
                "apps_one_after_another": {
                    "apps": args.apps,
                    **many_apps(source("seq"), daemon.url("deploy.git"), args.apps, False),
                },
                "apps_all_at_once": {
                    "apps": args.apps,
                    **many_apps(source("par"), daemon.url("deploy.git"), args.apps, True),
                },
            }
        finally:
            daemon.stop()
            http.stop()
    result["targets_met"] = (
        result["no_change_poll_git"]["median_ms"] < 50
        and result["no_change_poll_http_auth"]["median_ms"] < 50
        and result["apps_one_after_another"]["fetches"] == 1
        and result["apps_all_at_once"]["fetches"] == 1
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
