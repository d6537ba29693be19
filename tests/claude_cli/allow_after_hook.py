"""A PermissionRequest hook that stands in for a person: waits, then allows (argv[1]: seconds to wait).

Print mode cannot show a permission dialog; this hook answers it, so a test sees a call that waited on the
user and then ran."""

import json
import sys
import time

sys.stdin.read()
time.sleep(float(sys.argv[1]))
decision = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}
sys.stdout.write(json.dumps(decision))
