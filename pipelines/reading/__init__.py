"""Reading each declared source (CSV, Excel, Parquet) into DuckDB staging, row numbers kept."""
