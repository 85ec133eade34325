"""Trains the Rasa model unless one for exactly these inputs exists already.

The model file is named by a hash of everything that shapes it (config, NLU data, domain,
stories/rules, custom components, normalisation data), so `make train`, `make run` and
`make test` train at most once per change, and CI trains once per run. Prints the model path.

    python scripts/train_model.py [--force] [--data DIR ...] [--out DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, List

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ["config.yml", "nlu_data", "bot/domain", "bot/data", "bot/components", "bot/nlu",
          "bot/normalisation.yml"]


def _files(paths: Iterable[Path]) -> List[Path]:
    out: List[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)
        elif path.is_file():
            out.append(path)
    return out


def inputs_hash(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in _files(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even if a model exists")
    parser.add_argument("--data", nargs="+", default=["nlu_data", "bot/data"])
    parser.add_argument("--out", default="models")
    parser.add_argument("--prefix", default="model")
    args = parser.parse_args(argv)

    data = [ROOT / d for d in args.data]
    digest = inputs_hash([ROOT / p for p in INPUTS] + data)
    name = f"{args.prefix}-{digest}"
    out = ROOT / args.out
    target = out / f"{name}.tar.gz"
    if target.exists() and not args.force:
        print(target)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rasa", "train", "--config", str(ROOT / "config.yml"),
               "--domain", str(ROOT / "bot" / "domain"), "--data", *map(str, data),
               "--out", str(out), "--fixed-model-name", name]
    started = time.monotonic()
    print("training:", " ".join(command), file=sys.stderr)
    result = subprocess.run(command, cwd=ROOT, stdout=sys.stderr)
    if result.returncode != 0 or not target.exists():
        print(f"training failed (exit {result.returncode})", file=sys.stderr)
        return result.returncode or 1
    print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
