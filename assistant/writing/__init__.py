"""The writing jobs: per-paper summaries with a synthesis, comparison tables, related-work drafts."""
