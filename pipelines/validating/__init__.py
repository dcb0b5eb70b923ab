"""Validating staged sources against the contract schemas; failing rows to quarantine."""
