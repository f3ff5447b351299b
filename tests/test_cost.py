"""What each kind of e-mail costs in what the state machine controls, end to
end on emulated AWS: the state transitions Step Functions bills, counted
from the execution history, and the frames shown to Rekognition. The other
billed quantities are measured and priced by `make cost` (bench/cost.py),
which runs the same scenarios (cost_scenarios.py).
"""

import json

import pytest

from cost_scenarios import SCENARIOS, receive


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_state_transitions_and_rekognition_calls_of_each_kind_of_email(aws, rekognition, scenario):
    run = receive(aws, rekognition, scenario)

    assert len(rekognition.calls) == scenario.rekognition_calls, rekognition.calls
    assert len(aws.published()) == scenario.alerts
    if not scenario.started:
        assert aws.executions() == []
        return
    assert run.execution["status"] == "SUCCEEDED", run.execution
    assert run.states[-1] == scenario.final_state, run.states
    assert run.transitions == scenario.transitions, run.states
    output = json.loads(run.execution["output"])
    assert output["analysis"].get("alert", False) is (scenario.alerts > 0), output["analysis"]
    if scenario.why is not None:
        assert any(scenario.why in why for why in output["analysis"]["why"]), output["analysis"]
