"""A recording hook for the harness self-test: appends `{"event", "ts", "payload"}` to the file in argv[1].

Standard library only, run as `python -I -S record_hook.py FILE`. One os.write of one line on an O_APPEND
descriptor, so the lines of concurrent hooks (parallel tool calls, two sessions) never interleave.
Prints nothing: Claude Code may read a hook's stdout as a decision.
"""

from __future__ import annotations

import datetime
import json
import os
import sys


def main() -> int:
    received = datetime.datetime.now(datetime.UTC).isoformat()
    payload = json.loads(sys.stdin.buffer.read() or b"{}")
    line = json.dumps({"event": payload.get("hook_event_name"), "ts": received, "payload": payload}) + "\n"
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
