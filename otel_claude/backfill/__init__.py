"""Backfill: past transcripts exported once."""
