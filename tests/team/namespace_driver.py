"""Runs steps inside a private mount namespace (started as `unshare -m --propagation private python THIS SPEC OUT`).

Claude Code 2.1.330 reads managed settings only from /etc/claude-code (no variable moves it), and an agent started
by a hook reads the machine-wide config only from /etc/otel-claude. Bind-mounting scratch directories over both,
in a namespace of the test's own, lets the real CLI read the real paths without touching the machine's files (or
the other Claude Code runs on the machine). Steps run in order, as root or as a given uid/gid.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main(spec_path: str, out_path: str) -> int:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    for source, target in spec["mounts"]:
        subprocess.run(["mount", "--rbind", source, target], check=True, timeout=30)
    results = []
    for step in spec["steps"]:
        user = step.get("uid")
        try:
            done = subprocess.run(
                step["argv"],
                env=step["env"],
                cwd=step.get("cwd"),
                user=user,
                group=step.get("gid"),
                extra_groups=[] if user is not None else None,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=step.get("timeout", 120),
            )
            results.append({"name": step["name"], "returncode": done.returncode, "stdout": done.stdout,
                            "stderr": done.stderr})  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            results.append({"name": step["name"], "returncode": -1, "stdout": "", "stderr": f"timeout: {exc}"})
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
