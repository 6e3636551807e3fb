"""What the operator commands share: their argument parser and loading the configuration."""

from __future__ import annotations

import argparse
import sys

from readyset_proxysql_scheduler.config import Config, ConfigError, load

DEFAULT_CONFIG = "/etc/readyset_proxysql_scheduler.cnf"
EXIT_USAGE = 2


def parser(command: str, description: str) -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(
        prog=f"readyset_proxysql_scheduler {command}", description=description
    )
    out.add_argument(
        "--config",
        metavar="PATH",
        default=DEFAULT_CONFIG,
        help=f"TOML configuration file (default {DEFAULT_CONFIG})",
    )
    return out


def load_config(path: str) -> Config:
    """The configuration, or exit 2 with the one-line reason."""
    try:
        return load(path)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
