"""Transcripts, shared by the live agent and backfill: reading, dedup, prices, cost, LLM-call spans."""
