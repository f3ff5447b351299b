"""The kinds of camera e-mail whose cost the pipeline decides, each run the
way production runs it: received through SES, through the real state
machine and the real functions on emulated AWS (conftest).

`tests/test_cost.py` asserts what each costs in state transitions and
Rekognition calls; `bench/cost.py` (`make cost`) runs the same scenarios,
measures everything else that is billed, and prices it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conftest import PERSON_AT_THE_DOOR, REPO, SECRET_ADDRESSES

FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = REPO / "samples"

# Three snapshots of one alarm (tests/fixtures), with SES's receipt event.
BURST_OF_THREE = FIXTURES / "frontdoor_burst_of_three_snapshots.eml"
BURST_RECEIPT = FIXTURES / "ses_receipt_frontdoor_burst.json"
VIDEO_LOSS_NOTICE = FIXTURES / "frontdoor_video_loss_text_only.eml"
VIDEO_LOSS_RECEIPT = FIXTURES / "ses_receipt_frontdoor_video_loss.json"

# What Rekognition says of the porch with nobody on it.
EMPTY_PORCH = [label for label in PERSON_AT_THE_DOOR if label["Name"] != "Person"]

# The evening the burst was received (its SES event's time), and a night
# hour outside the garden camera's active window (08:00 to 20:00 UTC).
EVENING = datetime(2026, 11, 29, 18, 12, 7, tzinfo=timezone.utc)
NIGHT = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)

# An address of the receiving domain that is no camera's secret one.
GUESSABLE_ADDRESS = "alerts@cams.example.com"
# The one camera whose frames the embedded model looks at first, the gate in
# front of Rekognition (conftest.CONFIG_TOML), recognised by its sender
# whatever address it writes to (as in test_detector_gate.py).
GATED_SENDER = "gated.cam@isp-mail.example.net"


@dataclass(frozen=True)
class Scenario:
    """One kind of e-mail, and what the pipeline does with it."""

    name: str
    title: str
    message: Path
    # Who writes (the e-mail's From and SES's sender), and to which address
    # (SES's recipient: a camera's secret address, or another).
    sender: str
    recipient: str
    received_at: datetime
    # What Rekognition sees in frame i of the e-mail (frames not named show
    # nothing).
    sights: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    receipt: Path = BURST_RECEIPT
    # What happens: whether an execution starts, the state it ends in, the
    # states it enters (each a billed state transition), the frames
    # Rekognition is asked about, and the alerts published.
    started: bool = True
    final_state: str | None = None
    transitions: int = 0
    rekognition_calls: int = 0
    alerts: int = 0
    # What the last frame's analysis says of why it did not alert, in part.
    why: str | None = None

    @property
    def raw(self) -> bytes:
        """The e-mail as SES stores it, written by `sender`."""
        raw = self.message.read_bytes()
        found = re.search(rb"^From: .*$", raw, flags=re.MULTILINE)
        assert found is not None, f"{self.message} has no From header"
        return raw[: found.start()] + f"From: <{self.sender}>".encode() + raw[found.end() :]

    def receipt_event(self, message_id: str) -> dict[str, Any]:
        """The SES receipt event of the e-mail, stored as `message_id`."""
        receipt = copy.deepcopy(json.loads(self.receipt.read_text()))
        ses = receipt["Records"][0]["ses"]
        stamp = self.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        ses["mail"]["timestamp"] = ses["receipt"]["timestamp"] = stamp
        ses["mail"]["messageId"] = message_id
        ses["mail"]["source"] = self.sender
        ses["mail"]["commonHeaders"]["from"] = [f"<{self.sender}>"]
        ses["mail"]["commonHeaders"]["returnPath"] = self.sender
        ses["mail"]["destination"] = ses["receipt"]["recipients"] = [self.recipient]
        for header in ses["mail"]["headers"]:
            if header["name"] in ("From", "Return-Path"):
                header["value"] = f"<{self.sender}>"
        return receipt


SCENARIOS = [
    Scenario(
        name="nothing-x3",
        title="nothing of interest, 3 frames",
        message=BURST_OF_THREE,
        sender="frontdoor@cams.example.com",
        recipient=SECRET_ADDRESSES["frontdoor"],
        received_at=EVENING,
        sights={0: EMPTY_PORCH, 1: EMPTY_PORCH, 2: EMPTY_PORCH},
        final_state="NothingOfInterest",
        # ExtractAttachments, StartAnalysis, AnyFrames, DetectLabels and
        # Judged for each frame, NothingOfInterest.
        transitions=3 + 2 * 3 + 1,
        rekognition_calls=3,
    ),
    Scenario(
        name="alert-frame-1",
        title="alert on frame 1 of 3",
        message=BURST_OF_THREE,
        sender="frontdoor@cams.example.com",
        recipient=SECRET_ADDRESSES["frontdoor"],
        received_at=EVENING,
        sights={0: PERSON_AT_THE_DOOR, 1: PERSON_AT_THE_DOOR, 2: PERSON_AT_THE_DOOR},
        final_state="Alerted",
        # ... DetectLabels, Judged, Notify, Alerted.
        transitions=3 + 2 + 2,
        rekognition_calls=1,
        alerts=1,
    ),
    Scenario(
        name="alert-frame-3",
        title="alert on frame 3 of 3",
        message=BURST_OF_THREE,
        sender="frontdoor@cams.example.com",
        recipient=SECRET_ADDRESSES["frontdoor"],
        received_at=EVENING,
        sights={0: EMPTY_PORCH, 1: EMPTY_PORCH, 2: PERSON_AT_THE_DOOR},
        final_state="Alerted",
        transitions=3 + 2 * 3 + 2,
        rekognition_calls=3,
        alerts=1,
    ),
    Scenario(
        name="text-only",
        title="text-only e-mail (no picture)",
        message=VIDEO_LOSS_NOTICE,
        receipt=VIDEO_LOSS_RECEIPT,
        sender="frontdoor@cams.example.com",
        recipient=SECRET_ADDRESSES["frontdoor"],
        received_at=EVENING,
        final_state="NoPictures",
        transitions=4,
    ),
    Scenario(
        name="quiet-hour",
        title="quiet hour (outside the camera's active window)",
        message=BURST_OF_THREE,
        sender="garden@cams.example.com",
        recipient=SECRET_ADDRESSES["garden"],
        received_at=NIGHT,
        sights={0: PERSON_AT_THE_DOOR, 1: PERSON_AT_THE_DOOR, 2: PERSON_AT_THE_DOOR},
        final_state="NotAnalysed",
        transitions=4,
    ),
    Scenario(
        name="stranger",
        title="stranger refused at the door",
        message=BURST_OF_THREE,
        sender="someone@stranger.example.org",
        recipient=GUESSABLE_ADDRESS,
        received_at=EVENING,
        sights={0: PERSON_AT_THE_DOOR, 1: PERSON_AT_THE_DOOR, 2: PERSON_AT_THE_DOOR},
        started=False,
    ),
    Scenario(
        name="gate-rejects",
        title="the gate sees nothing (an empty lawn at night)",
        message=SAMPLES / "garden_empty.eml",
        sender=GATED_SENDER,
        recipient=GUESSABLE_ADDRESS,
        received_at=EVENING,
        # Were Rekognition asked, it would see a person: the gate alone decides.
        sights={0: PERSON_AT_THE_DOOR},
        final_state="NothingOfInterest",
        transitions=3 + 2 + 1,
        why="gate: ",
    ),
    Scenario(
        name="nothing-x3-gated",
        title="nothing of interest in 3 frames, behind the gate (the default)",
        message=SAMPLES / "drive_quiet_night.eml",
        sender=GATED_SENDER,
        recipient=GUESSABLE_ADDRESS,
        received_at=EVENING,
        final_state="NothingOfInterest",
        transitions=3 + 2 * 3 + 1,
        # The gate stops all three frames: the drive as it is (5.0 %), as
        # rain starts (8.5 %) and with a branch's shadow across it (9.3 %,
        # the mean of its three looks; one of them took it for a person at
        # 19.0 %), each under the 11 % threshold.
        rekognition_calls=0,
        why="gate: ",
    ),
    Scenario(
        name="gate-passes",
        title="the gate sees a person, Rekognition confirms",
        message=SAMPLES / "frontdoor_person.eml",
        sender=GATED_SENDER,
        recipient=GUESSABLE_ADDRESS,
        received_at=EVENING,
        sights={0: PERSON_AT_THE_DOOR},
        final_state="Alerted",
        transitions=3 + 2 + 2,
        rekognition_calls=1,
        alerts=1,
    ),
]


def message_id_for(scenario: Scenario, run: int = 0) -> str:
    """A message id of the scenario's e-mail, distinct for each run (SES's
    are letters and digits)."""
    return re.sub(r"[^a-z0-9]", "", f"cost{scenario.name}run{run}").ljust(36, "0")


def state_transitions(history: list[dict[str, Any]]) -> int:
    """The state transitions Step Functions Standard bills for an execution:
    one per state entered, and one per retry of a task (each retry is a
    further attempt scheduled within the same state)."""
    entered = [event for event in history if event["type"].endswith("StateEntered")]
    tasks_entered = [event for event in entered if event["type"] == "TaskStateEntered"]
    attempts = [event for event in history if event["type"] == "LambdaFunctionScheduled"]
    return len(entered) + max(0, len(attempts) - len(tasks_entered))


@dataclass
class Run:
    """What one e-mail of a scenario did."""

    message_id: str
    answer: dict[str, Any]
    execution: dict[str, Any] | None
    history: list[dict[str, Any]]

    @property
    def transitions(self) -> int:
        return state_transitions(self.history)

    @property
    def states(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]


def receive(aws, rekognition, scenario: Scenario, run: int = 0) -> Run:
    """Receives the scenario's e-mail through SES (its S3 action, then
    ingest-ses) with Rekognition seeing what the scenario says, and waits
    for the execution it started, if any, to end."""
    message_id = message_id_for(scenario, run)
    for frame, labels in scenario.sights.items():
        rekognition.sees(f"frames/{message_id}/{frame}.*", labels)
    answer = aws.receive_by_ses(scenario.raw, scenario.receipt_event(message_id))
    [outcome] = answer["messages"]
    if not scenario.started:
        assert outcome["outcome"] == "Rejected", answer
        return Run(message_id, answer, None, [])
    assert outcome["outcome"].startswith("Started"), answer
    execution = aws.finished_execution(aws.execution_arn(message_id))
    return Run(message_id, answer, execution, aws.history(execution["executionArn"]))
