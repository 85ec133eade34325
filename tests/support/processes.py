"""Start the project's real processes for end-to-end tests and wait until they answer.

Timeouts here are hang guards only: nothing asserts on speed.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 240.0  # loading TensorFlow and a model on a busy 2-core CI machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra: str) -> Dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update(extra)
    return env


class ProcessFailed(RuntimeError):
    pass


@dataclass
class RunningProcess:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_up(proc: RunningProcess, health_path: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.process.poll() is not None:
            raise ProcessFailed(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log_text()[-4000:]}")
        try:
            if httpx.get(proc.url + health_path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.stop()
            raise ProcessFailed(f"{proc.name} did not answer {health_path}:\n{proc.log_text()[-4000:]}")
        time.sleep(0.3)


@contextlib.contextmanager
def running(name: str, command: List[str], port: int, health_path: str, log_dir: Path,
            env: Optional[Dict[str, str]] = None, wait: bool = True) -> Iterator[RunningProcess]:
    """Runs `command` from the repository root until the block ends.

    With ``wait=False`` the block starts at once (call `wait_until_up` later): slow starters such
    as the rasa server can load while the other processes start.
    """
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env or base_env(), stdout=out,
                                   stderr=subprocess.STDOUT)
    proc = RunningProcess(name, f"http://127.0.0.1:{port}", process, log)
    try:
        if wait:
            wait_until_up(proc, health_path)
        yield proc
    finally:
        proc.stop()


def trained_model() -> Path:
    """The model for the current data: $RASA_MODEL if set (make test sets it), else trained now."""
    given = os.environ.get("RASA_MODEL")
    if given:
        return Path(given)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_model.py")], cwd=ROOT,
                            env=base_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise ProcessFailed(f"training failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def backend_command() -> List[str]:
    return [sys.executable, "-m", "routing"]


def backend_env(port: int, database_url: str, **extra: str) -> Dict[str, str]:
    return base_env(DATABASE_URL=database_url, ROUTING_PORT=str(port), ROUTING_HOST="127.0.0.1",
                    ROUTING_ENV="development", ROUTING_DEV_TOKENS="1",
                    ROUTING_ESCALATION_INTERVAL="0", ROUTING_LOG_LEVEL="warning", **extra)


def actions_command(port: int) -> List[str]:
    return [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]


def rasa_command(model: Path, port: int, credentials: Path, endpoints: Path) -> List[str]:
    return [sys.executable, "-m", "rasa", "run", "--enable-api", "--model", str(model),
            "--port", str(port), "--credentials", str(credentials), "--endpoints", str(endpoints)]
