"""The long-lived agent: its loop, runner, records and status."""
