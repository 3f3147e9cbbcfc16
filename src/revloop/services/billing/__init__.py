"""Billing runs: resolve the facts from the store, rate them, keep the drafts, approve and post."""
