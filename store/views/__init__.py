"""Store pages, split by workflow: the counter, stock and donations, catalogue and summaries."""
