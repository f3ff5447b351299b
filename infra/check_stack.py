#!/usr/bin/env python3
"""Checks that the SAM stack, the state machine and the workspace agree.

cfn-lint checks the template on its own and asl-validator the state machine
on its own; neither sees the seams between them and the Rust workspace, which
break silently (a typo in a substitution is only an error when an execution
reaches that state). This script fails, naming each problem, when:

- a `${...}` in a state machine definition is not among the template's
  DefinitionSubstitutions, or a substitution is provided that no state uses;
- a function's code is not the zip `make zips` builds for it
  (`out/lambda/<binary>/bootstrap.zip`, which `make deploy` uploads as it
  is: the functions are built once, one way, for CI and for AWS), or SAM is
  asked to build it again (a `Metadata.BuildMethod`);
- a function's binary has no crate `crates/<name>` with a `src/main.rs`, or the
  crate's package is named otherwise (cargo-lambda builds `--bin <name>`);
- a function does not run on arm64 provided.al2023 with handler bootstrap;
- a function's code reads an `IPCAM_*` environment variable the template does
  not set for it;
- a function that keeps the memory of alerts (`IPCAM_ALERTS_TABLE`) may not
  do on the very table the variable names exactly what it needs (ALERTS_TABLE_ACCESS:
  extract-attachments reads, detect-labels reads, claims and counts its
  detector calls, notify looks up
  and records each event's notification), a DynamoDB permission is granted on
  anything but that table, or to a function that does not name it;
- the Makefile's FUNCTIONS (what `make zips` builds) differ from the template's;
- an SES receipt rule accepts, under the parameters' defaults, every address
  of the stack's domain, or the cameras' secret addresses (InboundRecipients)
  may be left empty without a rule refusing it: anyone could then write to
  any address of the domain and cost an invocation;
- a CloudWatch alarm has no action, or one of its actions (in any branch of
  a condition) is the alert topic, the topic a function publishes alerts to
  (IPCAM_TOPIC_ARN): operational alarms have a topic of their own, so that
  the alerts' subscribers get alerts only;
- a function counts refused messages (`report_rejection`, an EMF line at
  the level of `REJECTION_LEVEL` in crates/adapters-aws/src/metric.rs) and
  no alarm watches that metric, or the functions' log level (LogLevel) may
  be set above that level, where Lambda would drop the line;
- no AWS::Budgets::Budget tells the ops topic at 80 % and 100 % of the
  month's actual cost, or the ops topic's policy does not let AWS Budgets
  publish to it;
- a function's environment takes a `NoEcho` parameter: a secret in a
  plaintext variable that anyone who may read the function's configuration
  sees (keep it in SSM Parameter Store, read at cold start);
- an HTTP API route's path carries no secret segment (a template parameter
  in its route key), a stage of it keeps no access log, or no alarm with an
  action watches its 4xx and its 5xx answers;
- SAM's own translator (what CloudFormation's transform runs) rejects the
  template.

With `--translated FILE` it also writes the translated CloudFormation
template there, for cfn-lint to check what CloudFormation will really get.

Run as `make validate` does: `.venv/bin/python infra/check_stack.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"

# ASL placeholders: `${Name}`; intrinsic functions (`States.Format('{}')`) and
# JSONPath (`$.x`) never take this form.
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
ENV_NAME = re.compile(r'"(IPCAM_[A-Z0-9_]+)"')
# Variables read through ipcam-adapters-aws (its `lambda` module) rather than by name in main.rs.
CONFIG_LOADER_VARIABLES = ("IPCAM_BUCKET", "IPCAM_CONFIG_KEY")
# Variables read by its `inbox()`: where received messages are kept.
INBOX_VARIABLES = ("IPCAM_BUCKET", "IPCAM_INCOMING_PREFIX")
# The memory of alerts: the table's name, and what each function that names
# it does there, no more and no less.
ALERTS_TABLE_VARIABLE = "IPCAM_ALERTS_TABLE"
ALERTS_TABLE_ACCESS = {
    # Recalls a camera's memory to hold an e-mail that cannot alert.
    "extract-attachments": {"dynamodb:Query", "dynamodb:GetItem"},
    # Recalls it, claims an alert with a conditional write, and counts its
    # detector calls against the budget (UpdateItem's ADD).
    "detect-labels": {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    # Looks up an event's notification, and records it once published.
    "notify": {"dynamodb:GetItem", "dynamodb:PutItem"},
}


class Problems:
    """Collects every problem, so that one run shows them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def load_template(path: Path) -> dict:
    template, matches = decode(str(path))
    if matches or template is None:
        details = "; ".join(str(match) for match in matches) or "unreadable"
        raise SystemExit(f"check_stack: cannot read {path}: {details}")
    return template


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }


def function_property(template: dict, resource: dict, key: str):
    """A function property, falling back to the Globals section as SAM does."""
    own = resource.get("Properties", {})
    if key in own:
        return own[key]
    return template.get("Globals", {}).get("Function", {}).get(key)


def function_environment(template: dict, resource: dict) -> set[str]:
    names: set[str] = set()
    for source in (
        template.get("Globals", {}).get("Function", {}),
        resource.get("Properties", {}),
    ):
        names.update(source.get("Environment", {}).get("Variables", {}).keys())
    return names


def function_environment_values(template: dict, resource: dict) -> dict:
    values: dict = {}
    for source in (
        template.get("Globals", {}).get("Function", {}),
        resource.get("Properties", {}),
    ):
        values.update(source.get("Environment", {}).get("Variables", {}))
    return values


def role_statements(template: dict, function: dict) -> list[dict]:
    """The policy statements of the function's role (both sides of an `Fn::If`)."""
    role = function.get("Properties", {}).get("Role")
    if not (isinstance(role, dict) and "Fn::GetAtt" in role):
        return []
    target = role["Fn::GetAtt"]
    name = target[0] if isinstance(target, list) else str(target).split(".")[0]
    statements: list[dict] = []

    def collect(node) -> None:
        if isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict) and "Fn::If" in node:
            collect(node["Fn::If"][1:])
        elif isinstance(node, dict) and "Effect" in node:
            statements.append(node)

    for policy in template.get("Resources", {}).get(name, {}).get("Properties", {}).get("Policies", []):
        collect(policy.get("PolicyDocument", {}).get("Statement", []))
    return statements


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def check_alerts_table_access(
    template: dict, name: str, binary: str, function: dict, reads_table: bool, problems: Problems
) -> None:
    """The table a function names is the one its role may use, only it, and
    only as the function needs."""
    table = function_environment_values(template, function).get(ALERTS_TABLE_VARIABLE)
    table_arn = (
        {"Fn::GetAtt": [table["Ref"], "Arn"]} if isinstance(table, dict) and "Ref" in table else None
    )
    granted: set[str] = set()
    for statement in role_statements(template, function):
        actions = [a for a in as_list(statement.get("Action", [])) if str(a).startswith("dynamodb:")]
        if not actions or statement.get("Effect") != "Allow":
            continue
        if not reads_table:
            problems.add(name, f"its role grants {', '.join(actions)}, but its code reads no {ALERTS_TABLE_VARIABLE}")
            continue
        if table_arn is None:
            problems.add(
                name,
                f"its role grants {', '.join(actions)}, but no {ALERTS_TABLE_VARIABLE} "
                "names a table of the stack (`!Ref <table>`) for it",
            )
            continue
        resources = [normalise_get_att(r) for r in as_list(statement.get("Resource", []))]
        if resources != [table_arn]:
            problems.add(
                name,
                f"its role grants {', '.join(actions)} on {statement.get('Resource')!r}: "
                f"only the table {ALERTS_TABLE_VARIABLE} names ({table!r}) should be reachable",
            )
            continue
        granted.update(actions)
    if not reads_table:
        return
    needed = ALERTS_TABLE_ACCESS.get(binary)
    if needed is None:
        problems.add(
            name,
            f"names {ALERTS_TABLE_VARIABLE}, but check_stack.py's ALERTS_TABLE_ACCESS does not say "
            f"what {binary} does with the table",
        )
        return
    for missing in sorted(needed - granted):
        problems.add(name, f"keeps the memory of alerts, but its role may not {missing} its table")
    for extra in sorted(granted - needed):
        problems.add(name, f"its role grants {extra} on the alerts table, which {binary} never does")


def normalise_get_att(value):
    """`!GetAtt A.Arn` decodes as ["A", "Arn"] or "A.Arn": one form."""
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), str):
        return {"Fn::GetAtt": value["Fn::GetAtt"].split(".", 1)}
    return value


def check_state_machines(template: dict, template_path: Path, problems: Problems) -> None:
    machines = resources_of(template, "AWS::Serverless::StateMachine")
    if not machines:
        problems.add(str(template_path), "no AWS::Serverless::StateMachine")
    for name, machine in machines.items():
        properties = machine.get("Properties", {})
        uri = properties.get("DefinitionUri")
        where = f"{name}"
        if not isinstance(uri, str):
            problems.add(where, "DefinitionUri must name a local ASL file")
            continue
        definition = (template_path.parent / uri).resolve()
        if not definition.is_file():
            problems.add(where, f"DefinitionUri {uri} does not exist ({definition})")
            continue
        text = definition.read_text(encoding="utf-8")
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            problems.add(str(definition.relative_to(ROOT)), f"not JSON: {err}")
        used = set(SUBSTITUTION.findall(text))
        provided = set((properties.get("DefinitionSubstitutions") or {}).keys())
        for missing in sorted(used - provided):
            problems.add(
                where,
                f"{definition.relative_to(ROOT)} uses ${{{missing}}} "
                "but DefinitionSubstitutions does not provide it",
            )
        for unused in sorted(provided - used):
            problems.add(
                where,
                f"DefinitionSubstitutions provides {unused}, "
                f"which {definition.relative_to(ROOT)} never uses",
            )


def crate_package_name(crate: Path) -> str | None:
    manifest = crate / "Cargo.toml"
    try:
        return tomllib.loads(manifest.read_text(encoding="utf-8"))["package"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def check_functions(template: dict, template_path: Path, problems: Problems) -> list[str]:
    binaries: list[str] = []
    lambda_dir = makefile_variable("LAMBDA_DIR") or "out/lambda"
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        if "BuildMethod" in function.get("Metadata", {}):
            problems.add(
                name,
                "Metadata.BuildMethod asks `sam build` to build the function again, another way "
                "than `make zips`: the stack deploys the zips as they are",
            )
        code_uri = function_property(template, function, "CodeUri")
        binary = function_binary(function)
        if binary is None:
            problems.add(name, f"CodeUri is {code_uri!r}: it must be {lambda_dir}/<binary>/bootstrap.zip, built by `make zips`")
            continue
        zip_path = (template_path.parent / code_uri).resolve()
        if zip_path != (ROOT / lambda_dir / binary / "bootstrap.zip").resolve():
            problems.add(
                name,
                f"CodeUri {code_uri!r} is not where `make zips` leaves the zip ({lambda_dir}/{binary}/bootstrap.zip)",
            )
        binaries.append(binary)
        for key, want in (
            ("Runtime", "provided.al2023"),
            ("Handler", "bootstrap"),
            ("Architectures", ["arm64"]),
        ):
            got = function_property(template, function, key)
            if got != want:
                problems.add(name, f"{key} is {got!r}, should be {want!r}")

        crate = ROOT / "crates" / binary
        main = crate / "src" / "main.rs"
        if not main.is_file():
            problems.add(name, f"binary {binary}: no crate with {main.relative_to(ROOT)}")
            continue
        package = crate_package_name(crate)
        if package != binary:
            problems.add(
                name,
                f"crates/{binary}/Cargo.toml names package {package!r}, "
                f"but the template builds binary {binary!r}",
            )

        source = main.read_text(encoding="utf-8")
        read = set(ENV_NAME.findall(source))
        if "load_config" in source or "cold_start" in source:
            read.update(CONFIG_LOADER_VARIABLES)
        if "inbox()" in source:
            read.update(INBOX_VARIABLES)
        for missing in sorted(read - function_environment(template, function)):
            problems.add(
                name,
                f"{main.relative_to(ROOT)} reads {missing}, which the template does not set",
            )
        check_alerts_table_access(template, name, binary, function, ALERTS_TABLE_VARIABLE in read, problems)
    if len(set(binaries)) != len(binaries):
        problems.add("template", f"a binary is deployed twice: {sorted(binaries)}")
    return binaries


CODE_ZIP = re.compile(r"(.+)/([a-z0-9-]+)/bootstrap\.zip")


def function_binary(resource: dict) -> str | None:
    """The binary a function runs: the crate whose zip its CodeUri names
    (`../out/lambda/<binary>/bootstrap.zip`)."""
    code_uri = resource.get("Properties", {}).get("CodeUri")
    built = CODE_ZIP.fullmatch(code_uri) if isinstance(code_uri, str) else None
    return built.group(2) if built else None


def makefile_variable(name: str) -> str | None:
    """The value the Makefile gives a variable (`NAME := …` or `NAME ?= …`)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{name}\s*[:?]?=\s*(.*)$", makefile, re.M)
    return match.group(1).strip() if match else None


def check_makefile(binaries: list[str], problems: Problems) -> None:
    functions = makefile_variable("FUNCTIONS")
    if functions is None:
        problems.add("Makefile", "no FUNCTIONS := ... line (the functions `make zips` builds)")
        return
    listed = functions.split()
    if sorted(listed) != sorted(binaries):
        problems.add(
            "Makefile",
            f"FUNCTIONS {sorted(listed)} differ from the template's functions {sorted(binaries)}",
        )


def get_att_target(value) -> tuple[str, str] | None:
    """The resource and attribute of an `Fn::GetAtt`, in either form."""
    if not (isinstance(value, dict) and "Fn::GetAtt" in value):
        return None
    target = value["Fn::GetAtt"]
    resource, _, attribute = (".".join(target) if isinstance(target, list) else str(target)).partition(".")
    return resource, attribute


def check_failure_destinations(template: dict, problems: Problems) -> None:
    """Every function SES invokes asynchronously keeps what it fails on: an
    on-failure destination, an encrypted SQS queue that keeps its messages
    14 days, that the function's role may send to, watched by an alarm on
    the queue's visible messages. Without one, Lambda drops the event after
    its retries and the stored e-mail starts nothing."""
    resources = template.get("Resources", {})
    for rule_name, rule in resources_of(template, "AWS::SES::ReceiptRule").items():
        for action in rule.get("Properties", {}).get("Rule", {}).get("Actions", []):
            lambda_action = action.get("LambdaAction")
            if not lambda_action or lambda_action.get("InvocationType", "Event") != "Event":
                continue
            target = get_att_target(lambda_action.get("FunctionArn"))
            if target is None or target[0] not in resources:
                problems.add(rule_name, "its Lambda action names no function of the stack")
                continue
            name = target[0]
            function = resources[name]
            on_failure = (
                (function_property(template, function, "EventInvokeConfig") or {})
                .get("DestinationConfig", {})
                .get("OnFailure", {})
            )
            queue_target = get_att_target(on_failure.get("Destination"))
            queue = resources.get(queue_target[0], {}) if queue_target else {}
            if on_failure.get("Type") != "SQS" or queue.get("Type") != "AWS::SQS::Queue":
                problems.add(
                    name,
                    "SES invokes it asynchronously, and it has no on-failure destination: "
                    "give it EventInvokeConfig.DestinationConfig.OnFailure, an SQS queue of the stack",
                )
                continue
            queue_name = queue_target[0]
            properties = queue.get("Properties", {})
            if not (properties.get("SqsManagedSseEnabled") or properties.get("KmsMasterKeyId")):
                problems.add(queue_name, "the failure queue of " + name + " is not encrypted")
            if str(properties.get("MessageRetentionPeriod")) != "1209600":
                problems.add(queue_name, "the failure queue of " + name + " does not keep messages 14 days")
            may_send = any(
                statement.get("Effect") == "Allow"
                and "sqs:SendMessage" in as_list(statement.get("Action"))
                and any(
                    get_att_target(resource) == (queue_name, "Arn")
                    for resource in as_list(statement.get("Resource"))
                )
                for statement in role_statements(template, function)
            )
            if not may_send:
                problems.add(name, f"its role may not sqs:SendMessage to its failure queue {queue_name}")
            watched = any(
                alarm.get("Properties", {}).get("Namespace") == "AWS/SQS"
                and alarm.get("Properties", {}).get("MetricName") == "ApproximateNumberOfMessagesVisible"
                and any(
                    get_att_target(dimension.get("Value")) == (queue_name, "QueueName")
                    for dimension in alarm.get("Properties", {}).get("Dimensions", [])
                )
                and alarm.get("Properties", {}).get("AlarmActions")
                for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
            )
            if not watched:
                problems.add(queue_name, "no alarm with an action watches the visible messages of the failure queue")


class Undecided(Exception):
    """A condition this script cannot evaluate from the template alone."""


def parameter_default(template: dict, name: str):
    parameter = template.get("Parameters", {}).get(name)
    if parameter is None:
        raise Undecided(f"Ref {name}")
    default = parameter.get("Default")
    if parameter.get("Type") == "CommaDelimitedList":
        return [item.strip() for item in str(default or "").split(",")]
    return default


def evaluate(template: dict, node):
    """The value of an intrinsic of parameters and conditions, every
    parameter at its default."""
    if isinstance(node, (str, int, float, bool)):
        return node
    if isinstance(node, list):
        return [evaluate(template, item) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        [(function, arguments)] = node.items()
        if function == "Ref":
            return parameter_default(template, arguments)
        if function == "Condition":
            return condition_holds(template, arguments)
        if function == "Fn::Equals":
            left, right = (evaluate(template, argument) for argument in arguments)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not evaluate(template, arguments[0])
        if function == "Fn::And":
            return all(evaluate(template, argument) for argument in arguments)
        if function == "Fn::Or":
            return any(evaluate(template, argument) for argument in arguments)
        if function == "Fn::If":
            name, when_true, when_false = arguments
            return evaluate(template, when_true if condition_holds(template, name) else when_false)
        if function == "Fn::Join":
            delimiter, items = arguments
            return delimiter.join(str(item) for item in evaluate(template, items))
        if function == "Fn::Contains":
            items, item = (evaluate(template, argument) for argument in arguments)
            return item in items
    raise Undecided(json.dumps(node))


def condition_holds(template: dict, name: str) -> bool:
    condition = template.get("Conditions", {}).get(name)
    if condition is None:
        raise Undecided(f"condition {name}")
    return bool(evaluate(template, condition))


def check_receipt_recipients(template: dict, problems: Problems) -> None:
    """Under the defaults, each receipt rule accepts the cameras' secret
    addresses only: not the stack's domain (every address of it), and not
    an empty list (which SES reads as every address of every verified
    domain) unless a rule of the template refuses it."""
    domain = parameter_default(template, "DomainName") if "DomainName" in template.get("Parameters", {}) else None
    for rule_name, rule in resources_of(template, "AWS::SES::ReceiptRule").items():
        recipients_node = rule.get("Properties", {}).get("Rule", {}).get("Recipients")
        if recipients_node is None:
            problems.add(rule_name, "the rule names no Recipients: SES would give it every address of every verified domain")
            continue
        # The parameter the recipients come from, once the defaults chose a branch.
        chosen = recipients_node
        try:
            while isinstance(chosen, dict) and "Fn::If" in chosen:
                name, when_true, when_false = chosen["Fn::If"]
                chosen = when_true if condition_holds(template, name) else when_false
        except Undecided as undecided:
            problems.add(rule_name, f"cannot tell what its Recipients are under the defaults ({undecided})")
            continue
        entries = chosen if isinstance(chosen, list) else [chosen]
        if any(entry == {"Ref": "DomainName"} for entry in entries):
            problems.add(
                rule_name,
                "under the parameters' defaults the rule accepts every address of DomainName: "
                "anyone could write to the domain and cost an invocation; accept the cameras' secret addresses only",
            )
            continue
        for entry in entries:
            if not (isinstance(entry, dict) and "Ref" in entry):
                if isinstance(entry, str) and "@" not in entry:
                    problems.add(rule_name, f"the rule accepts every address of {entry}")
                continue
            parameter = entry["Ref"]
            values = parameter_default(template, parameter)
            values = values if isinstance(values, list) else [values]
            if domain is not None and domain in values:
                problems.add(rule_name, f"{parameter} defaults to the stack's domain")
            if any(value == "" for value in values):
                refused = any(
                    {"Fn::Not": [{"Fn::Contains": [{"Ref": parameter}, ""]}]} == assertion.get("Assert")
                    for stack_rule in template.get("Rules", {}).values()
                    for assertion in stack_rule.get("Assertions", [])
                )
                if not refused:
                    problems.add(
                        rule_name,
                        f"{parameter} may be left empty (its default), and no rule of the template refuses it: "
                        "SES would then accept every address",
                    )


def referenced(node) -> set[str]:
    """Every resource or parameter a node names by `Ref`, in every branch."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and isinstance(node["Ref"], str):
            return {node["Ref"]}
        found: set[str] = set()
        for value in node.values():
            found |= referenced(value)
        return found
    if isinstance(node, list):
        found = set()
        for value in node:
            found |= referenced(value)
        return found
    return set()


def check_alarm_actions(template: dict, problems: Problems) -> None:
    """Every alarm says something to someone, and never on the alert topic."""
    alert_topics = {
        value["Ref"]
        for function in resources_of(template, "AWS::Serverless::Function").values()
        for name, value in function_environment_values(template, function).items()
        if name == "IPCAM_TOPIC_ARN" and isinstance(value, dict) and "Ref" in value
    }
    for name, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items():
        properties = alarm.get("Properties", {})
        if not properties.get("AlarmActions"):
            problems.add(name, "the alarm has no AlarmActions: no one would hear of it")
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for topic in sorted(referenced(properties.get(key, [])) & alert_topics):
                problems.add(
                    name,
                    f"its {key} may go to {topic}, the alert topic: operational alarms go to the ops topic, "
                    "not to the alerts' subscribers",
                )


METRIC_SOURCE = ROOT / "crates" / "adapters-aws" / "src" / "metric.rs"
LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def rust_constant(source: str, name: str) -> str | None:
    found = re.search(rf'pub const {name}: &str = "([^"]*)";', source)
    return found.group(1) if found else None


def check_rejection_metric(template: dict, problems: Problems) -> None:
    """The refused messages are counted where an alarm sees them."""
    counting = []
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        binary = function_binary(function)
        main = ROOT / "crates" / str(binary) / "src" / "main.rs"
        if isinstance(binary, str) and main.is_file() and "report_rejection" in main.read_text(encoding="utf-8"):
            counting.append(name)
    if not counting:
        return
    source = METRIC_SOURCE.read_text(encoding="utf-8")
    namespace, metric, level = (rust_constant(source, key) for key in ("NAMESPACE", "REJECTED_MESSAGES", "REJECTION_LEVEL"))
    if None in (namespace, metric, level):
        problems.add(str(METRIC_SOURCE.relative_to(ROOT)), "NAMESPACE, REJECTED_MESSAGES or REJECTION_LEVEL is missing")
        return
    watched = any(
        alarm.get("Properties", {}).get("Namespace") == namespace
        and alarm.get("Properties", {}).get("MetricName") == metric
        and alarm.get("Properties", {}).get("AlarmActions")
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
    )
    if not watched:
        problems.add(
            ", ".join(counting),
            f"they count refused messages in {namespace}/{metric}, and no alarm with an action watches it",
        )
    allowed = template.get("Parameters", {}).get("LogLevel", {}).get("AllowedValues", [])
    above = [value for value in allowed if str(value).upper() in LEVELS and LEVELS.index(str(value).upper()) > LEVELS.index(level)]
    if above:
        problems.add(
            "LogLevel",
            f"it may be {', '.join(above)}, above {level}, the level of the {metric} line: Lambda would drop the line and the metric",
        )


def check_bill_watched(template: dict, problems: Problems) -> None:
    """The month's bill is watched by AWS Budgets, and what it tells goes to
    the ops topic, which the stack lets AWS Budgets publish to."""
    ops_topics = {"OpsTopic", "OpsTopicArn"}
    budgets = resources_of(template, "AWS::Budgets::Budget")
    if not budgets:
        problems.add("Resources", "no AWS::Budgets::Budget: no one hears when the month's bill passes its budget")
    for name, budget in budgets.items():
        notifications = budget.get("Properties", {}).get("NotificationsWithSubscribers", [])
        thresholds = sorted(
            (entry.get("Notification", {}).get("NotificationType"), entry.get("Notification", {}).get("Threshold"))
            for entry in notifications
            if referenced(entry.get("Subscribers", [])) & ops_topics
        )
        for wanted in (("ACTUAL", 80), ("ACTUAL", 100)):
            if wanted not in thresholds:
                problems.add(name, f"no notification to the ops topic at {wanted[1]} % of the {wanted[0].lower()} cost")
    policies = [
        policy
        for policy in resources_of(template, "AWS::SNS::TopicPolicy").values()
        if "OpsTopic" in referenced(policy.get("Properties", {}).get("Topics", []))
    ]
    if budgets and not any("budgets.amazonaws.com" in json.dumps(policy) for policy in policies):
        problems.add("OpsTopic", "no topic policy lets budgets.amazonaws.com publish to it: the budget's notices would be lost")


def check_no_secret_in_environment(template: dict, problems: Problems) -> None:
    secret = {
        name for name, parameter in template.get("Parameters", {}).items() if str(parameter.get("NoEcho")).lower() == "true"
    }
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        for variable, value in function_environment_values(template, function).items():
            for parameter in sorted(referenced(value) & secret):
                problems.add(
                    name,
                    f"its environment variable {variable} holds the NoEcho parameter {parameter} in plain text: "
                    "keep the secret in SSM Parameter Store (SecureString) and give the function its name",
                )


def check_http_endpoints(template: dict, problems: Problems) -> None:
    parameters = set(template.get("Parameters", {}))
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    for name, route in resources_of(template, "AWS::ApiGatewayV2::Route").items():
        key = route.get("Properties", {}).get("RouteKey")
        text = key.get("Fn::Sub") if isinstance(key, dict) else key
        text = text[0] if isinstance(text, list) else text
        path = str(text).partition(" ")[2]
        if not set(SUBSTITUTION.findall(path)) & parameters:
            problems.add(
                name,
                f"its route {text!r} carries no secret segment: anyone could post to it and use up the "
                "throttle SendGrid shares; put a parameter of the template (a token make deploy generates) in its path",
            )
    for name, api in resources_of(template, "AWS::ApiGatewayV2::Api").items():
        stages = [
            stage
            for stage in resources_of(template, "AWS::ApiGatewayV2::Stage").values()
            if stage.get("Properties", {}).get("ApiId") == {"Ref": name}
        ]
        if not stages or not all(
            stage.get("Properties", {}).get("AccessLogSettings", {}).get("DestinationArn") for stage in stages
        ):
            problems.add(name, "a stage of the API keeps no access log (AccessLogSettings)")
        for metric in ("4xx", "5xx"):
            watched = any(
                alarm.get("Properties", {}).get("Namespace") == "AWS/ApiGateway"
                and alarm.get("Properties", {}).get("MetricName") == metric
                and {"Name": "ApiId", "Value": {"Ref": name}} in alarm.get("Properties", {}).get("Dimensions", [])
                and alarm.get("Properties", {}).get("AlarmActions")
                for alarm in alarms
            )
            if not watched:
                problems.add(name, f"no alarm with an action watches its {metric} answers")


def translate(template: dict, problems: Problems) -> dict | None:
    """Runs SAM's translator, as CloudFormation's transform would."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    # The translator resolves pseudo parameters through a boto session; the
    # region changes nothing in the output, which keeps ${AWS::Region}.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        """The stack attaches no AWS managed policy by name."""

        def load(self) -> dict:
            return {}

    packaged = json.loads(json.dumps(template))
    # What `sam package` does: local code and definitions become S3 objects.
    placeholder = "ipcam-artifacts-placeholder"
    for section in (packaged.get("Globals", {}).get("Function", {}),) + tuple(
        resource.get("Properties", {}) for resource in packaged.get("Resources", {}).values()
    ):
        for key in ("CodeUri", "DefinitionUri"):
            if isinstance(section.get(key), str):
                section[key] = {"Bucket": placeholder, "Key": key.lower()}
    try:
        return transform(packaged, {}, NoManagedPolicies())
    except InvalidDocumentException as err:
        for cause in err.causes:
            problems.add("SAM translator", str(cause.message))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--translated", type=Path, help="write the translated template here")
    args = parser.parse_args()

    template_path = args.template.resolve()
    template = load_template(template_path)
    problems = Problems()
    check_state_machines(template, template_path, problems)
    binaries = check_functions(template, template_path, problems)
    check_makefile(binaries, problems)
    check_failure_destinations(template, problems)
    check_receipt_recipients(template, problems)
    check_alarm_actions(template, problems)
    check_rejection_metric(template, problems)
    check_bill_watched(template, problems)
    check_no_secret_in_environment(template, problems)
    check_http_endpoints(template, problems)
    translated = translate(template, problems)

    if problems.items:
        print(f"check_stack: {len(problems.items)} problem(s) in the stack:", file=sys.stderr)
        for item in problems.items:
            print(f"  - {item}", file=sys.stderr)
        return 1
    if args.translated and translated is not None:
        args.translated.parent.mkdir(parents=True, exist_ok=True)
        args.translated.write_text(json.dumps(translated, indent=1) + "\n", encoding="utf-8")
    print(
        f"check_stack: ok: {len(binaries)} functions ({', '.join(binaries)}) deployed from "
        "the zips `make zips` builds of their crates, with the variables they read, the alerts table reachable by its users "
        "only, each as it needs; every state machine substitution provided; what SES invokes "
        "keeps what it fails on, watched; the receipt rule accepts the cameras' secret addresses "
        "only; every alarm goes to the ops topic, none to the alert topic; "
        "refused messages are counted at a level the log filter keeps, and watched; "
        "the month's bill is watched by AWS Budgets, told to the ops topic; "
        "no secret in a function's environment; the SendGrid endpoint's path carries a secret, "
        "its access is logged and its 4xx and 5xx watched"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
