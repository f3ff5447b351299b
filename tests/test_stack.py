"""The stack the end-to-end tests run against is the one CloudFormation
creates from infra/template.yaml (conftest.py): each function runs with its
role's permissions on S3, and nothing more."""

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from conftest import REGION


def s3_as(aws, binary: str):
    """An S3 client holding the credentials the function's process runs with."""
    credentials = aws.services.stack.credentials[binary]
    return boto3.client(
        "s3",
        endpoint_url=aws.services.endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=BotoConfig(retries={"total_max_attempts": 1}),
    )


def test_a_function_may_do_on_s3_what_its_role_allows_and_nothing_else(aws):
    s3 = s3_as(aws, "ingest-ses")

    # Its role lets it read the configuration and the stored e-mails ...
    assert s3.get_object(Bucket=aws.bucket, Key=aws.stack.config_key)["Body"].read().startswith(b"[defaults]")
    # ... but neither list the bucket nor write anywhere.
    for refused in (
        lambda: s3.list_objects_v2(Bucket=aws.bucket),
        lambda: s3.put_object(Bucket=aws.bucket, Key="frames/forged/0.jpg", Body=b"\xff\xd8\xff"),
        lambda: s3.get_object(Bucket=aws.bucket, Key="annotated/some-alert.jpg"),
    ):
        with pytest.raises(ClientError) as refusal:
            refused()
        assert refusal.value.response["Error"]["Code"] == "AccessDenied", refusal.value.response


def test_each_function_runs_with_the_environment_the_stack_gave_it(aws):
    for binary, function_name in aws.stack.function_names.items():
        configuration = aws.lambda_.get_function_configuration(FunctionName=function_name)
        given = {name: str(value) for name, value in configuration["Environment"]["Variables"].items()}
        assert given == aws.services.stack.environments[binary], binary
    # The names the stack gave, not ones the tests chose.
    assert aws.stack.environments["detect-labels"]["IPCAM_ALERTS_TABLE"] == aws.stack.outputs["AlertsTableName"]
    assert aws.stack.environments["notify"]["IPCAM_TOPIC_ARN"] == aws.stack.outputs["AlertTopicArn"]
    assert aws.stack.environments["ingest-ses"]["IPCAM_STATE_MACHINE_ARN"] == aws.stack.outputs["StateMachineArn"]
