#!/usr/bin/env python3
"""What `make deploy` (infra/deploy.sh) decides before it deploys.

  deploy_settings.py addresses --config FILE --domain DOMAIN --kept KEPT [--table]
      Each camera's secret address, generated once and kept in KEPT (a TOML
      file beside the configuration, `[secret_addresses]` camera = address),
      so that a redeployment keeps them. A camera the configuration gives
      its own (`[ingest.secret_addresses]`) keeps that one. Prints the
      addresses comma-separated (the stack's InboundRecipients), or with
      --table one `camera  address` a line.

  parameters --samconfig FILE KEY=VALUE...
      The stack's parameter overrides: those saved in samconfig.toml by the
      first `sam deploy --guided`, with the given ones replacing theirs, as
      one `--parameter-overrides` argument.

  saved --samconfig FILE KEY
      One saved parameter override, or nothing.

  token --kept KEPT NAME
      A secret token kept in KEPT's `[tokens]` table (26 characters of
      base32), generated the first time: the secret segment of the SendGrid
      endpoint's path (`sendgrid_path`).

A secret address is `<camera>-<token>@DOMAIN`, the token 26 characters of
base32 (128 random bits from `secrets`): a stranger cannot guess it, and
only mail to it reaches the pipeline.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shlex
import sys
import tomllib
from pathlib import Path

TOKEN_BYTES = 16  # 128 bits: 26 characters of base32


def token() -> str:
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode().rstrip("=").lower()


def local_name(camera: str) -> str:
    """The camera's name as the start of an address: lower-case letters,
    digits and single dashes, at most 30 characters."""
    name = re.sub(r"[^a-z0-9]+", "-", camera.lower()).strip("-")[:30].strip("-")
    return name or "camera"


def read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}


def write_kept(path: Path, kept: dict[str, str], tokens: dict[str, str] | None = None) -> None:
    if tokens is None:
        tokens = dict(read_toml(path).get("tokens", {}))
    lines = [
        "# The cameras' secret addresses, generated once by `make deploy` and kept",
        "# here so that a redeployment keeps them. Each camera writes to its own;",
        "# mail to any other address of the domain is refused. Keep this file",
        "# private: whoever knows an address can make the stack spend money.",
        "[secret_addresses]",
    ]
    lines += [f"{json.dumps(camera)} = {json.dumps(address)}" for camera, address in sorted(kept.items())]
    if tokens:
        lines += ["", "# Other secrets of the stack: the SendGrid endpoint's path segment.", "[tokens]"]
        lines += [f"{json.dumps(name)} = {json.dumps(value)}" for name, value in sorted(tokens.items())]
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


def secret_addresses(config: Path, domain: str, kept_path: Path) -> dict[str, str]:
    """Camera name → its secret address, generating and keeping those missing."""
    settings = read_toml(config)
    if not settings and not config.exists():
        raise SystemExit(f"deploy: no configuration file {config}")
    cameras = [camera.get("name", "") for camera in settings.get("cameras", [])]
    written = {
        name.lower(): address for name, address in settings.get("ingest", {}).get("secret_addresses", {}).items()
    }
    kept: dict[str, str] = dict(read_toml(kept_path).get("secret_addresses", {}))
    changed = False
    addresses: dict[str, str] = {}
    for camera in cameras:
        if camera.lower() in written:
            addresses[camera] = written[camera.lower()]
            continue
        address = kept.get(camera)
        if address is not None and address.rpartition("@")[2].lower() != domain.lower():
            # The stack's domain changed: the secret part stays, the camera
            # must be told the new domain anyway.
            address = f"{address.rpartition('@')[0]}@{domain}"
            print(f"deploy: {camera}'s secret address moves to the domain {domain}: {address}", file=sys.stderr)
        if address is None:
            address = f"{local_name(camera)}-{token()}@{domain}"
        if kept.get(camera) != address:
            kept[camera] = address
            changed = True
        addresses[camera] = address
    if changed:
        write_kept(kept_path, kept)
    return addresses


def saved_overrides(samconfig: Path) -> list[tuple[str, str]]:
    parameters = read_toml(samconfig).get("default", {}).get("deploy", {}).get("parameters", {})
    saved = parameters.get("parameter_overrides", [])
    items = saved if isinstance(saved, list) else shlex.split(saved)
    pairs = []
    for item in items:
        key, _, value = str(item).partition("=")
        if key:
            pairs.append((key, value))
    return pairs


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    addresses = commands.add_parser("addresses")
    addresses.add_argument("--config", type=Path, required=True)
    addresses.add_argument("--domain", required=True)
    addresses.add_argument("--kept", type=Path, required=True)
    addresses.add_argument("--table", action="store_true")
    parameters = commands.add_parser("parameters")
    parameters.add_argument("--samconfig", type=Path, required=True)
    parameters.add_argument("overrides", nargs="*")
    tokens = commands.add_parser("token")
    tokens.add_argument("--kept", type=Path, required=True)
    tokens.add_argument("name")
    saved = commands.add_parser("saved")
    saved.add_argument("--samconfig", type=Path, required=True)
    saved.add_argument("key")
    args = parser.parse_args()

    if args.command == "addresses":
        found = secret_addresses(args.config, args.domain.strip().lower(), args.kept)
        if args.table:
            for camera, address in found.items():
                print(f"{camera:<16} {address}")
        else:
            print(",".join(found.values()))
    elif args.command == "parameters":
        merged = dict(saved_overrides(args.samconfig))
        # No longer a parameter: the password lives in SSM (deploy.sh moves
        # a saved one there), and the template would refuse it.
        merged.pop("SendGridPassword", None)
        for override in args.overrides:
            key, _, value = override.partition("=")
            merged[key] = value
        print(" ".join(f"{key}={quoted(value)}" for key, value in merged.items()))
    elif args.command == "token":
        kept = read_toml(args.kept)
        known = dict(kept.get("tokens", {}))
        if not known.get(args.name):
            known[args.name] = token()
            write_kept(args.kept, dict(kept.get("secret_addresses", {})), known)
        print(known[args.name])
    else:
        print(dict(saved_overrides(args.samconfig)).get(args.key, ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
