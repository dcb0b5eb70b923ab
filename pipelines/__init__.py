"""LCI data pipelines: ingestion, sample data and processing steps."""
