"""Agent throughput and memory: events per second from the spool to a local OTLP receiver, and the agent's RSS.

Synthetic load: copies of the real fixture sessions (tests/fixtures/claude-code-2.1.330/sessions/) with fresh
session, prompt, tool and agent ids and their own transcripts (hard links to the fixture transcripts, so the agent
reads one transcript per session, as live), 50 copies in flight at once, every copy ending with SessionEnd. The
records are written straight into the spool (otel_claude.handoff.spool.append), then a foreground `otel-claude agent`
is started, pinned to one CPU, and timed until the spool is empty (a record leaves the spool only after the
spans it finished were exported). The agent runs as installed: its bytecode compiled, its metrics exported at its
default interval (10 s; the tests' sandbox exports every second). The receiver runs in this process, on the other
CPU.

RSS is read from /proc at 25 %, 50 % and 100 % of the events: with the state of ended sessions released it
must stay flat while the number of finished sessions grows fourfold.

Targets: >= 4,000 events/s on one core (issue 14), judged by events per second of the agent's own CPU time (user +
system, from /proc), so a machine shared with other work does not decide the verdict; the wall-clock rates are
printed beside it. RSS at 100 % within 15 % (or 16 MiB) of RSS at 25 %.

    .venv/bin/python benchmarks/bench_agent_throughput.py                 # 100k events
    .venv/bin/python benchmarks/bench_agent_throughput.py --short         # 5k events, for CI
    .venv/bin/python benchmarks/bench_agent_throughput.py --check         # exit 1 on a lost event or growing memory
    .venv/bin/python benchmarks/bench_agent_throughput.py --check-target  # ... and below 4,000 events/CPU-s
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from profile_breakdown import breakdown
from profile_breakdown import render as render_breakdown
from reliability.harness import Sandbox
from reliability.synthetic import interleaved
from support.otlp_receiver import OtlpReceiver

from otel_claude.handoff import env

TARGET_EVENTS_PER_S = 4000.0
RSS_GROWTH_LIMIT = 0.15
RSS_GROWTH_SLACK_BYTES = 16 << 20
BREAKDOWN_EVENTS = 10_000
REFERENCE_LOOPS = 5_000_000


def reference_cpu_s(cpu: int | None) -> float:
    """CPU seconds of a fixed pure-Python loop on `cpu`: how fast this machine runs Python now. On a shared VM this
    changes by 2x within hours, and the agent's events per CPU-second with it; printed beside them."""
    import subprocess

    loop = f"x=0\nfor i in range({REFERENCE_LOOPS}): x+=i\n"
    code = f"import time\nt=time.process_time()\n{loop}print(time.process_time()-t)"
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    done = subprocess.run([*pin, sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def rss_bytes(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of `pid`, in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of `pid` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_pending(new_dir: str) -> int:
    with os.scandir(new_dir) as entries:
        return sum(1 for entry in entries if entry.name.endswith(".rec"))


@dataclass
class Result:
    events: int
    sessions: int
    concurrency: int
    startup_s: float = 0.0
    drain_s: float = 0.0
    steady_events_per_s: float = 0.0
    rss: dict[str, int] = field(default_factory=dict)  # "25%" -> bytes
    peak_rss: int = 0
    spans: int = 0
    open_sessions: int | None = None
    dead_letters: int = 0
    cpu: str = ""
    reference_s: tuple[float, float] = (0.0, 0.0)  # CPU s of REFERENCE_LOOPS, on the agent's CPU, before and after
    agent_cpu_s: float = 0.0  # CPU time the agent used from its start to the empty spool
    steady_cpu_s: float = 0.0  # ... from the 25 % mark to the empty spool (start-up left out)
    breakdown: list[str] = field(default_factory=list)

    @property
    def events_per_cpu_s(self) -> float:
        return self.events / self.agent_cpu_s if self.agent_cpu_s else 0.0

    @property
    def steady_events_per_cpu_s(self) -> float:
        return self.events * 0.75 / self.steady_cpu_s if self.steady_cpu_s else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.drain_s if self.drain_s else 0.0

    @property
    def rss_growth(self) -> int:
        return self.rss.get("100%", 0) - self.rss.get("25%", 0)

    @property
    def rss_ok(self) -> bool:
        base = self.rss.get("25%", 0)
        return self.rss_growth <= max(base * RSS_GROWTH_LIMIT, RSS_GROWTH_SLACK_BYTES)

    @property
    def ok(self) -> bool:
        """What --check holds: every event processed (nothing dead-lettered, every span delivered) in flat memory."""
        return self.rss_ok and self.dead_letters == 0 and self.spans > 0

    @property
    def target_met(self) -> bool:
        """Issue 12/14's throughput target, printed beside the check: not met yet (see docs/performance.md)."""
        return self.events_per_cpu_s >= TARGET_EVENTS_PER_S


def run(events: int, concurrency: int, cpu: int | None, profile: str | None) -> Result:
    receiver = OtlpReceiver().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-agent-") as root:
            sandbox = Sandbox(Path(root), endpoint=receiver.endpoint)
            _as_installed(sandbox)
            start_ns = time.time_ns() - 3_600_000_000_000
            records = list(interleaved(events, concurrency, start_ns, Path(root) / "transcripts"))
            sessions = len({json.loads(payload)["session_id"] for _, payload in records})
            sandbox.spool_records(records)
            result = Result(events=len(records), sessions=sessions, concurrency=concurrency)
            del records
            try:
                _drain(sandbox, result, cpu, profile)
            finally:
                sandbox.stop_agents(timeout=60)
            status = sandbox.status()  # after the stop: the agent's last report is final
            result.open_sessions = (status.get("last_report") or {}).get("open_sessions")
            result.dead_letters = status["dead_letters"]
            result.spans = len(receiver.spans())
    finally:
        receiver.stop()
    return result


def _as_installed(sandbox: Sandbox) -> None:
    """The agent runs as installed. Its bytecode is compiled, as pip leaves an installed package: with
    PYTHONDONTWRITEBYTECODE (some shells and sandboxes set it) and a module changed since its .pyc, every agent start
    would compile it again (0.3-0.5 CPU s), counted as the agent's work. Its metrics go out at its default interval
    (10 s): the test harness's sandbox exports them every second, so that tests see them at once, which is ten times
    the collection and export work of an installed agent."""
    import compileall

    import otel_claude

    compileall.compile_dir(os.path.dirname(otel_claude.__file__), quiet=1)
    sandbox.env.pop("PYTHONDONTWRITEBYTECODE", None)
    sandbox.env.pop(env.OTEL_METRIC_EXPORT_INTERVAL, None)


def _drain(sandbox: Sandbox, result: Result, cpu: int | None, profile: str | None) -> None:
    """Starts the agent and follows the spool until it is empty, taking RSS at the marks."""
    marks = {"25%": 0.75, "50%": 0.5, "100%": 0.0}  # fraction of records still pending
    started = time.perf_counter()
    process = _start_profiled(sandbox, profile) if profile else sandbox.start_agent()
    pid = process.pid
    if cpu is not None:
        for tid in os.listdir(f"/proc/{pid}/task"):  # threads started later inherit the main thread's mask
            os.sched_setaffinity(int(tid), {cpu})
        others = os.sched_getaffinity(0) - {cpu}
        if others:  # this process (the receiver, the monitor) keeps off the agent's CPU
            for tid in os.listdir(f"/proc/{os.getpid()}/task"):
                os.sched_setaffinity(int(tid), others)
        result.cpu = f"agent pinned to CPU {cpu}, receiver and monitor on CPU {','.join(map(str, sorted(others)))}"
    result.startup_s = time.perf_counter() - started
    quarter_at: float | None = None
    quarter_cpu = 0.0
    while True:
        pending = count_pending(sandbox.paths.new_dir)
        now = time.perf_counter()
        for label, fraction in marks.items():
            if label not in result.rss and pending <= result.events * fraction:
                result.rss[label] = rss_bytes(pid)[0]
                if label == "25%":
                    quarter_at, quarter_cpu = now, cpu_seconds(pid)
        if pending == 0:
            result.agent_cpu_s = cpu_seconds(pid)
            if quarter_at is not None:
                result.steady_cpu_s = result.agent_cpu_s - quarter_cpu
            result.drain_s = now - started
            if quarter_at is not None and now > quarter_at:
                result.steady_events_per_s = result.events * 0.75 / (now - quarter_at)
            break
        if process.poll() is not None:
            raise SystemExit(f"the agent died:\n{sandbox.agent_log()}")
        time.sleep(0.5)  # listing a big spool is not free: do not slow the agent down
    result.peak_rss = rss_bytes(pid)[1]


def _start_profiled(sandbox: Sandbox, out: str):  # type: ignore[no-untyped-def]
    """The agent under cProfile, stopped by SIGTERM so the profile is written."""
    import subprocess

    from reliability.harness import PYTHON, wait_for

    argv = ["agent", "--state-dir", str(sandbox.state_dir)]
    code = (
        "import cProfile; from otel_claude.cli.main import main; "
        f"cProfile.runctx('main(argv)', {{}}, {{'main': main, 'argv': {argv!r}}}, {out!r})"
    )
    process = subprocess.Popen([PYTHON, "-c", code], env=sandbox.env)
    sandbox._foreground.append(process)
    if not wait_for(lambda: sandbox.agent_pid() == process.pid, 30):
        raise SystemExit("the profiled agent did not start")
    sandbox.agent_pids.add(process.pid)
    return process


def render(result: Result) -> str:
    mib = 1 << 20
    rss = ", ".join(f"{label} {value / mib:.1f} MiB" for label, value in result.rss.items())
    lines = [
        f"events:          {result.events} from {result.sessions} sessions, {result.concurrency} in flight at a time",
        f"agent:           {result.cpu or 'not pinned'}; start to lock held {result.startup_s:.2f} s",
        f"drain:           {result.drain_s:.2f} s from agent start to empty spool",
        f"throughput:      {result.events_per_s:,.0f} events/s overall (agent start included), "
        f"{result.steady_events_per_s:,.0f} events/s from 25 % to 100 %",
        f"agent CPU:       {result.agent_cpu_s:.1f} s user+system, "
        f"{result.events_per_cpu_s:,.0f} events per CPU-second (target >= {TARGET_EVENTS_PER_S:,.0f}); "
        f"{result.steady_events_per_cpu_s:,.0f} from 25 % to 100 % (start-up left out)",
        f"machine speed:   a {REFERENCE_LOOPS:,}-step Python loop took {result.reference_s[0]:.2f} and "
        f"{result.reference_s[1]:.2f} CPU s on the agent's CPU before and after (the same code gives more events per "
        "CPU-second when it is lower)",
        f"RSS:             {rss}; peak {result.peak_rss / mib:.1f} MiB; growth 25 %->100 % "
        f"{result.rss_growth / mib:+.1f} MiB ({'flat' if result.rss_ok else 'GROWING'})",
        f"spans received:  {result.spans}",
        f"open sessions:   {result.open_sessions} after the drain; dead letters: {result.dead_letters}",
        f"check:           {'ok' if result.ok else 'FAILED'} (no dead letter, spans delivered, memory flat)",
        f"throughput target {TARGET_EVENTS_PER_S:,.0f} events per CPU-second: "
        f"{'met' if result.target_met else 'MISSED'} ({result.events_per_cpu_s / TARGET_EVENTS_PER_S:.2f}x of it)",
    ]
    if result.breakdown:
        lines.append("where the agent's time goes (cProfile of a separate run, wall time by component):")
        lines.extend(result.breakdown)
    return "\n".join(lines)


def profiled_breakdown(events: int, concurrency: int, cpu: int | None) -> list[str]:
    """The same load, smaller, with the agent under cProfile: its time by component (profile_breakdown.py)."""
    with tempfile.TemporaryDirectory(prefix="bench-agent-profile-") as directory:
        stats = os.path.join(directory, "agent.prof")
        profiled = run(events, concurrency, cpu, stats)
        lines = [f"  ({profiled.events} events; cProfile slows Python-heavy code most, so these are shares, not costs)"]
        return lines + render_breakdown(breakdown(stats))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="5k events")
    parser.add_argument("--events", type=int, help="events to push (default 100000)")
    parser.add_argument("--concurrency", type=int, default=50, help="sessions in flight at a time")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin the agent to (default: the last one)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the agent to one CPU")
    parser.add_argument("--profile", metavar="FILE", help="run the agent under cProfile, write the stats here")
    parser.add_argument(
        "--breakdown",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"then a profiled run of {BREAKDOWN_EVENTS:,} events, printed by component (default: on without --short)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 on a dead letter, a lost span or growing memory")
    parser.add_argument("--check-target", action="store_true", help="exit 1 also below the throughput target")
    options = parser.parse_args(argv)
    events = options.events or (5000 if options.short else 100_000)
    cpu = None if options.no_pin else (options.cpu if options.cpu is not None else max(os.sched_getaffinity(0)))
    before = reference_cpu_s(cpu)
    result = run(events, options.concurrency, cpu, options.profile)
    result.reference_s = (before, reference_cpu_s(cpu))
    if options.breakdown if options.breakdown is not None else not options.short:
        result.breakdown = profiled_breakdown(min(events, BREAKDOWN_EVENTS), options.concurrency, cpu)
    print(render(result))
    if (options.check or options.check_target) and not result.ok:
        return 1
    return 1 if options.check_target and not result.target_met else 0


if __name__ == "__main__":
    sys.exit(main())
