"""`python -m otel_claude` is the `otel-claude` command."""

from __future__ import annotations

import sys

from otel_claude.cli.main import main

sys.exit(main())
