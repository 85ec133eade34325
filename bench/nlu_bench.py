"""NLU benchmark: parse latency and throughput (in process and over /model/parse), training time
and peak memory. Prints figures; asserts nothing.

Inputs are real citizen messages from ../shared/realtext/ (their real lengths), or the held-out
examples when that folder is absent.

    python -m bench.nlu_bench --model models/model-<hash>.tar.gz [--messages 300] [--skip-train]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Sequence

import httpx

from bench.machine import describe
from tests.support.processes import ROOT, base_env, free_port, rasa_command, running
from trainer.evaluate import REALTEXT_CSV, _quiet, load_heldout
from trainer.nlu_files import plain_text


def sample_messages(count: int) -> List[str]:
    if REALTEXT_CSV.exists():
        with REALTEXT_CSV.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        step = max(1, len(rows) // count)
        return [f"{r['title']}\n{r['detail']}" for r in rows[::step][:count]]
    return [plain_text(e) for e, _ in load_heldout()][:count]


def percentiles(latencies: Sequence[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms"


def timed(fn: Callable[[str], object], texts: Sequence[str]) -> List[float]:
    out = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - start)
    return out


def bench_in_process(model: Path, texts: Sequence[str]) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    parse = lambda t: loop.run_until_complete(agent.parse_message(t))  # noqa: E731
    parse("预热")
    latencies = timed(parse, texts)
    print(f"in-process parse   : {percentiles(latencies)}; "
          f"{len(texts) / sum(latencies):.1f} messages/s on one thread")


def bench_http(model: Path, texts: Sequence[str], concurrency: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "credentials.yml").write_text("rest:\n", encoding="utf-8")
        (work / "endpoints.yml").write_text("{}\n", encoding="utf-8")
        command = rasa_command(model, port, work / "credentials.yml", work / "endpoints.yml")
        with running("rasa", command, port, "/status", work, base_env()) as rasa:
            with httpx.Client(base_url=rasa.url, timeout=60) as client:
                post = lambda t: client.post("/model/parse", json={"text": t}).raise_for_status()  # noqa: E731
                post("预热")
                latencies = timed(post, texts)
                print(f"HTTP /model/parse  : {percentiles(latencies)}; "
                      f"{len(texts) / sum(latencies):.1f} messages/s sequential")
                start = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(post, texts))
                elapsed = time.perf_counter() - start
                print(f"HTTP throughput    : {len(texts) / elapsed:.1f} messages/s with {concurrency} clients")


def bench_training() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain",
                   "bot/domain", "--data", "nlu_data", "bot/data", "--out", tmp, "--force"]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=base_env(), capture_output=True)
        elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"training (full)    : {elapsed:.0f} s, peak RSS {peak:.0f} MiB, {status}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args(argv)
    _quiet()
    logging.getLogger().setLevel(logging.ERROR)
    texts = sample_messages(args.messages)
    lengths = sorted(len(t) for t in texts)
    print(f"machine            : {describe()}")
    print(f"model              : {args.model.name}")
    print(f"inputs             : {len(texts)} messages, median {lengths[len(lengths) // 2]} chars, "
          f"max {lengths[-1]} chars")
    bench_in_process(args.model, texts)
    bench_http(args.model, texts, args.concurrency)
    if not args.skip_train:
        bench_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
