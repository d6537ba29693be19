"""Instruction counts (valgrind's callgrind) of backfill and of the agent, for one tree or several side by side.

This machine's speed changes by about 2x within hours, so wall and CPU times resolve only large differences, and only
in interleaved runs. Instructions executed do not move with it: two runs of the same tree on the same input differ by
well under 0.1 %. Use this to compare a change with its base (each TREE a checkout, e.g. `git worktree add --detach
/tmp/base main`); the speed targets stay in the bench_* benchmarks.

- `backfill`: `otel-claude backfill` of a generated corpus (bench_backfill.generate) to an in-process OTLP receiver,
  every process traced. A reader process is forked from the exporting one, and callgrind counts a child from its
  parent's start, so the exporting process's instructions up to the fork (measured by a run that stops there) are
  taken off each reader. Prints the exporting process's, each reader's and the total, per call too.
- `agent`: `otel-claude agent` draining a fixed spool (reliability.synthetic.interleaved, cached so every tree gets
  the same bytes) with its timers made independent of valgrind's slowdown; run for EVENTS and for a few events, so
  the per-event figure leaves start-up out. Prints what the receiver got (spans, a digest of names and attributes
  without ids) so that trees doing different work are noticed.

    .venv/bin/python benchmarks/instruction_counts.py backfill /tmp/base .          # 20 MB corpus
    .venv/bin/python benchmarks/instruction_counts.py agent --events 3000 /tmp/base .

Needs valgrind (Debian: `apt-get install valgrind`). Not a test tier: a run takes minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cost"))  # transcript_gen
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests")
)  # support, reliability (ahead of cost/support.py)

from support.otlp_receiver import OtlpReceiver, span_attributes

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "instruction-counts"
FEW_EVENTS = 100  # the agent run whose count is taken off: start-up and shutdown
_VOLATILE = {"session.id", "prompt.id", "tool.use_id", "agent.id", "transcript.path", "claude.session.id"}
_COLLECTED = re.compile(r"Collected : ([\d,]+)")


def _callgrind(command: list[str], **kwargs: object) -> tuple[list[int], subprocess.CompletedProcess[str]]:
    """Each traced process's instructions, in the order the processes ended."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--trace-children=yes", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return [int(count.replace(",", "")) for count in _COLLECTED.findall(done.stderr)], done


def _compiled(tree: Path) -> None:
    # A tree's modules compiled first, as installed: with PYTHONDONTWRITEBYTECODE a changed module is compiled again
    # at every start and counted.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "otel_claude"], cwd=tree, check=True)


def _environment(tree: Path, home: Path, endpoint: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=str(tree),
        HOME=str(home),
        OTEL_CLAUDE_CONFIG_FILE=str(home / "none.env"),
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
    )
    return env


def backfill(trees: list[Path], megabytes: int) -> None:
    from bench_backfill import generate

    corpus = CACHE / f"backfill-{megabytes}mb"
    if not (corpus / "done").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        generate(str(corpus / "projects"), megabytes << 20)
        (corpus / "done").touch()
    receiver = OtlpReceiver().start()
    baseline = None
    try:
        for tree in trees:
            _compiled(tree)
            env = _environment(tree, corpus, receiver.endpoint)
            with tempfile.TemporaryDirectory(prefix="instructions-") as scratch:
                argv = ["backfill", str(corpus / "projects"), "--json", "--no-progress", "--state-dir"]
                counts, done = _callgrind(
                    [sys.executable, "-m", "otel_claude", *argv, f"{scratch}/a"], cwd=tree, env=env
                )
                stop_at_fork = (
                    "import os\nimport otel_claude.backfill.files as files\n"
                    "files.FileReads.__enter__ = lambda self: os._exit(0)\n"
                    "from otel_claude.cli.main import main\nmain()\n"
                )
                (before_fork,), _ = _callgrind(
                    [sys.executable, "-c", stop_at_fork, *argv, f"{scratch}/b"], cwd=tree, env=env
                )
            calls = int(re.search(r'"calls_exported": (\d+)', done.stdout).group(1))  # type: ignore[union-attr]
            *readers, exporting = counts
            own = [reader - before_fork for reader in readers]
            total = exporting + sum(own)
            baseline = baseline or total
            if own:
                each = ", ".join(f"{count / 1e6:,.0f}M" for count in own)
                readers_text = f"readers {each} (each less the {before_fork / 1e6:,.0f}M before the fork)"
            else:
                readers_text = "no reader process (under 16 MiB to read)"
            print(
                f"{tree}: {calls} calls; exporting process {exporting / 1e6:,.0f}M, {readers_text}; total "
                f"{total / 1e6:,.0f}M, {total / calls / 1e3:,.0f}k per call; {total / baseline:.3f}x the first tree"
            )
    finally:
        receiver.stop()


def _records(events: int) -> list[tuple[int, bytes]]:
    from reliability.synthetic import interleaved

    directory = CACHE / f"agent-{events}"
    pickled = directory / "records.pkl"
    if not pickled.exists():
        directory.mkdir(parents=True, exist_ok=True)
        records = list(interleaved(events, 50, 1_780_000_000_000_000_000, directory / "transcripts"))
        pickled.write_bytes(pickle.dumps(records))
    loaded: list[tuple[int, bytes]] = pickle.loads(pickled.read_bytes())
    return loaded


def _digest(receiver: OtlpReceiver) -> tuple[int, str]:
    lines = []
    for span in receiver.spans():
        kept = sorted((k, repr(v)) for k, v in span_attributes(span).items() if k not in _VOLATILE and "id" not in k)
        lines.append(repr((span.name, span.kind, span.status.code, kept)))
    return len(lines), hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


def _agent_run(tree: Path, events: int) -> tuple[int, int, int, str]:
    from reliability.harness import Sandbox, wait_for

    records = _records(events)
    receiver = OtlpReceiver().start()
    root = Path(tempfile.mkdtemp(prefix="instructions-agent-"))
    try:
        sandbox = Sandbox(root, endpoint=receiver.endpoint)
        sandbox.env.pop("PYTHONDONTWRITEBYTECODE", None)
        # Work driven by the clock would grow with valgrind's slowdown: metrics go out only at shutdown, re-reads
        # are due at the next pass, and the agent keeps its priority.
        sandbox.env.update(
            OTEL_CLAUDE_AGENT_IDLE_EXIT_SECONDS="3600",
            OTEL_METRIC_EXPORT_INTERVAL="3600000",
            OTEL_CLAUDE_TRANSCRIPT_SETTLE_MS="0",
            OTEL_CLAUDE_AGENT_NICE="0",
        )
        sandbox.spool_records(records)
        out = root / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", "otel_claude"]
        with open(root / "agent.log", "wb") as log:
            process = subprocess.Popen(
                [*command, "agent", "--state-dir", str(sandbox.state_dir)],
                cwd=tree,
                env=sandbox.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        if not wait_for(lambda: not sandbox.pending() or process.poll() is not None, 3600, interval=0.5):
            raise SystemExit(f"{tree}: the agent did not drain the spool")
        if process.poll() is not None:
            raise SystemExit((root / "agent.log").read_text(errors="replace")[-3000:])
        sandbox.cli("stop", "--state-dir", str(sandbox.state_dir), "--timeout", "600", timeout=700)
        process.wait(600)
        (count,) = [int(c.replace(",", "")) for c in _COLLECTED.findall((root / "agent.log").read_text())][-1:]
        spans, digest = _digest(receiver)
        return len(records), count, spans, digest
    finally:
        receiver.stop()
        shutil.rmtree(root, ignore_errors=True)


def agent(trees: list[Path], events: int) -> None:
    baseline = None
    for tree in trees:
        _compiled(tree)
        few, few_count, _, _ = _agent_run(tree, FEW_EVENTS)
        many, many_count, spans, digest = _agent_run(tree, events)
        per_event = (many_count - few_count) / (many - few)
        baseline = baseline or per_event
        print(
            f"{tree}: {many} events {many_count / 1e6:,.0f}M, {few} events {few_count / 1e6:,.0f}M: "
            f"{per_event / 1e3:,.1f}k per event with start-up left out, {per_event / baseline:.3f}x the first tree; "
            f"{spans} spans received, digest {digest}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["backfill", "agent"])
    parser.add_argument("trees", nargs="+", type=Path, metavar="TREE", help="checkouts to count, the first the base")
    parser.add_argument("--megabytes", type=int, default=20, help="backfill's corpus (default 20)")
    parser.add_argument("--events", type=int, default=3000, help="the agent's workload (default 3000)")
    options = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (Debian: apt-get install valgrind)")
    trees = [tree.resolve() for tree in options.trees]
    started = time.monotonic()
    if options.what == "backfill":
        backfill(trees, options.megabytes)
    else:
        agent(trees, options.events)
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
