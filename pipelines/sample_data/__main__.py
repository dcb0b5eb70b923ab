"""python -m pipelines.sample_data [OUT_DIR] [--seed N]: regenerate the sample data."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import DEFAULT_SEED, generate_sample_project


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sample_data", description="Generate the LCI sample data."
    )
    parser.add_argument("out_dir", nargs="?", default="data/sample", type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for path in generate_sample_project(args.out_dir, seed=args.seed):
        print(f"{path}  ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
