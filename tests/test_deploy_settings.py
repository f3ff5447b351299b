"""What `make deploy` decides before deploying (infra/deploy_settings.py):
each camera's secret address, generated once, kept, and passed to the
stack with the parameters saved by the first deployment. No AWS needed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SETTINGS = REPO / "infra" / "deploy_settings.py"
# `<camera>-<26 characters of base32>@domain`: 130 bits of which 128 random.
SECRET = re.compile(r"^(?P<camera>[a-z0-9-]+)-(?P<token>[a-z2-7]{26})@(?P<domain>[a-z0-9.-]+)$")


def settings(*arguments: str) -> str:
    return subprocess.run(
        [sys.executable, str(SETTINGS), *arguments], check=True, capture_output=True, text=True
    ).stdout.strip()


def addresses(config: Path, domain: str, kept: Path) -> list[str]:
    return settings("addresses", "--config", str(config), "--domain", domain, "--kept", str(kept)).split(",")


def test_each_camera_gets_an_unguessable_address_kept_for_the_next_deployment(tmp_path):
    config = tmp_path / "ipcam.toml"
    config.write_text(
        '[[cameras]]\nname = "Front Door"\nsubject = "Front"\n\n[[cameras]]\nname = "drive"\nsubject = "Drive"\n'
    )
    kept = tmp_path / "ipcam.secret-addresses.toml"

    first = addresses(config, "cams.example.com", kept)
    found = [SECRET.match(address) for address in first]
    assert all(found), first
    assert [match["camera"] for match in found] == ["front-door", "drive"]
    assert {match["domain"] for match in found} == {"cams.example.com"}
    assert len({match["token"] for match in found}) == 2
    assert kept.stat().st_mode & 0o077 == 0, "the kept addresses are the owner's alone"

    assert addresses(config, "cams.example.com", kept) == first, "a redeployment keeps them"
    other = tmp_path / "elsewhere.secret-addresses.toml"
    assert set(addresses(config, "cams.example.com", other)).isdisjoint(first), "each setup draws its own"


def test_an_address_the_configuration_writes_is_used_and_not_generated(tmp_path):
    config = tmp_path / "ipcam.toml"
    own = "frontdoor-owner2345678901234567890@cams.example.com"
    config.write_text(
        f'[ingest.secret_addresses]\nfrontdoor = "{own}"\n\n[[cameras]]\nname = "frontdoor"\n\n'
        '[[cameras]]\nname = "drive"\nsubject = "Drive"\n'
    )
    kept = tmp_path / "kept.toml"
    first, second = addresses(config, "cams.example.com", kept)
    assert first == own
    assert SECRET.match(second)
    assert own not in kept.read_text()


def test_no_camera_gives_no_address(tmp_path):
    config = tmp_path / "ipcam.toml"
    config.write_text("[defaults]\nlabels = [\"person\"]\n")
    assert addresses(config, "cams.example.com", tmp_path / "kept.toml") == [""]


def test_the_parameters_saved_by_the_first_deployment_are_kept_beside_the_new_ones(tmp_path):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        "version = 0.1\n[default.deploy.parameters]\nstack_name = \"ipcam\"\n"
        'parameter_overrides = "DomainName=\\"cams.example.com\\" AlertEmail=\\"me@home.example\\" '
        'InboundRecipients=\\"\\""\n'
    )
    assert settings("saved", "--samconfig", str(samconfig), "DomainName") == "cams.example.com"
    merged = settings(
        "parameters", "--samconfig", str(samconfig), "InboundRecipients=a-x@cams.example.com,b-y@cams.example.com"
    )
    assert merged == (
        'DomainName="cams.example.com" AlertEmail="me@home.example" '
        'InboundRecipients="a-x@cams.example.com,b-y@cams.example.com"'
    )
    assert settings("saved", "--samconfig", str(tmp_path / "none.toml"), "DomainName") == ""


def test_the_sendgrid_path_token_is_generated_once_and_kept_beside_the_addresses(tmp_path):
    config = tmp_path / "ipcam.toml"
    config.write_text('[[cameras]]\nname = "frontdoor"\nsubject = "Front"\n')
    kept = tmp_path / "ipcam.secret-addresses.toml"
    [address] = addresses(config, "cams.example.com", kept)

    first = settings("token", "--kept", str(kept), "sendgrid_path")
    assert re.fullmatch(r"[a-z2-7]{26}", first), first
    assert settings("token", "--kept", str(kept), "sendgrid_path") == first
    # Writing the addresses again keeps the token, and the other way round.
    assert addresses(config, "cams.example.com", kept) == [address]
    assert settings("token", "--kept", str(kept), "sendgrid_path") == first
    assert kept.stat().st_mode & 0o077 == 0
