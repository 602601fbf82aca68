"""Provisioning: template.yaml → samtranslator (offline) → a few fix-ups for moto → a CloudFormation stack in the
embedded moto, then what the devstack needs from it: outputs, physical ids, the functions' environment and the event
source mappings that the pumps play instead of Lambda."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from infra.devstack.embedded_aws import REGION
from infra.devstack.moto_internals import cloudformation_state_machine
from infra.devstack.template import REPO_ROOT, load_template, resources, substitute

log = logging.getLogger(__name__)

STACK_NAME = "switchboard-local"
CODE_BUCKET = "switchboard-devstack-code"
# Functions run from the work tree, so the packages CloudFormation sees are one tiny placeholder.
CODE_KEY = "work-tree.zip"
# Hidden outputs through which CloudFormation resolves the ARNs the pumps need (stream, queue, on-failure queue).
_EVENT_SOURCE_OUTPUT = "DevstackEventSource"
_ON_FAILURE_SUFFIX = "OnFailure"


def translate(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy: DefinitionUri files inlined, local code folders pointed at S3."""
    sam = copy.deepcopy(template if template is not None else load_template())
    for properties in (resource.get("Properties", {}) for resource in sam["Resources"].values()):
        if "DefinitionUri" in properties:
            properties["Definition"] = json.loads((REPO_ROOT / properties.pop("DefinitionUri")).read_text())
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    # samtranslator asks IAM for the managed-policy map only to expand policy *names*; the template uses policy
    # templates and ARNs, so offline an empty map is enough.
    translated = translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)
    translator.metrics.publish()  # a no-op publisher, but unpublished metrics warn when collected
    return translated


def write_translated(path: Path, template: dict[str, Any] | None = None) -> Path:
    """Write the translated template as JSON (for cfn-lint, which catches bad references inside functions)."""
    path.write_text(json.dumps(translate(template), indent=2))
    return path


@dataclass(frozen=True)
class EventSourceMapping:
    """A Lambda event source mapping from the translated template, with its ARNs resolved by CloudFormation."""

    logical_id: str
    function: str
    source_arn: str
    batch_size: int
    maximum_retry_attempts: int | None
    bisect_on_error: bool
    report_item_failures: bool
    on_failure_arn: str | None

    @property
    def is_stream(self) -> bool:
        return ":dynamodb:" in self.source_arn


@dataclass(frozen=True)
class Provisioned:
    """What the devstack needs from the created stack. `outside_cloudformation` says what Ref and Fn::GetAtt of the
    resources made without CloudFormation (Cognito, the ApiGatewayV2 APIs) stand for, e.g. "UserPool.Arn"."""

    outputs: dict[str, str]
    physical_ids: dict[str, str]
    function_env: dict[str, str]
    event_sources: list[EventSourceMapping]
    outside_cloudformation: dict[str, str]


def provision(parameters: dict[str, str]) -> Provisioned:
    """Create the whole stack in moto (AWS_ENDPOINT_URL must point at it) and read back what the devstack needs."""
    cfn = translate()
    _upload_placeholder_code()
    external = _create_cognito(cfn, parameters) | _local_api_ids(cfn)
    mappings = _remove_event_source_mappings(cfn)
    _fit_for_moto(cfn, external)
    stack = _create_stack(cfn, parameters)
    physical_ids = _physical_ids()
    _recreate_state_machines_executable(cfn, physical_ids)
    all_outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    return Provisioned(
        outputs={key: value for key, value in all_outputs.items() if not key.startswith(_EVENT_SOURCE_OUTPUT)},
        physical_ids=physical_ids,
        function_env=_function_env(cfn, physical_ids),
        event_sources=[_event_source(logical_id, properties, all_outputs) for logical_id, properties in mappings],
        outside_cloudformation=external,
    )


def _upload_placeholder_code() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("README.txt", "The devstack runs every function from the work tree.\n")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())


def known_values(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Parameter values (defaults first) and pseudo parameters, for resolving intrinsics outside CloudFormation."""
    defaults = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    pseudo = {"AWS::StackName": STACK_NAME, "AWS::Region": REGION, "AWS::AccountId": DEFAULT_ACCOUNT_ID,
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    return defaults | parameters | pseudo


def _create_cognito(cfn: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
    """moto's CloudFormation has no Cognito models, so create user pools and their clients through the API.

    Returns what Ref and Fn::GetAtt of those resources stand for."""
    idp = boto3.client("cognito-idp")
    created: dict[str, str] = {}
    for logical_id, properties in resources(cfn, "AWS::Cognito::UserPool"):
        arguments = substitute(properties, known_values(cfn, parameters))
        arguments["PoolName"] = arguments.pop("UserPoolName", logical_id)  # the API names it differently
        pool = idp.create_user_pool(**arguments)["UserPool"]
        provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
        created |= {logical_id: pool["Id"], f"{logical_id}.Arn": pool["Arn"],
                    f"{logical_id}.ProviderName": provider, f"{logical_id}.ProviderURL": f"https://{provider}"}
    for logical_id, properties in resources(cfn, "AWS::Cognito::UserPoolClient"):
        arguments = substitute(properties, known_values(cfn, parameters) | created)
        created[logical_id] = idp.create_user_pool_client(**arguments)["UserPoolClient"]["ClientId"]
    return created


def _local_api_ids(cfn: dict[str, Any]) -> dict[str, str]:
    """moto skips ApiGatewayV2 (the gateway serves those APIs): give each API a stable id so references resolve."""
    return {logical_id: hashlib.sha1(logical_id.encode()).hexdigest()[:10]
            for logical_id, _ in resources(cfn, "AWS::ApiGatewayV2::Api")}


def _remove_event_source_mappings(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The pumps play the mappings: attached in moto they would replay the stream's history and empty the shard.

    Hidden outputs let CloudFormation resolve the ARNs they name."""
    mappings = list(resources(cfn, "AWS::Lambda::EventSourceMapping"))
    outputs = cfn.setdefault("Outputs", {})
    for logical_id, properties in mappings:
        del cfn["Resources"][logical_id]
        outputs[f"{_EVENT_SOURCE_OUTPUT}{logical_id}"] = {"Value": properties["EventSourceArn"]}
        on_failure = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if on_failure:
            outputs[f"{_EVENT_SOURCE_OUTPUT}{logical_id}{_ON_FAILURE_SUFFIX}"] = {"Value": on_failure}
    return mappings


def _fit_for_moto(cfn: dict[str, Any], external: dict[str, str]) -> None:
    """The small changes moto's CloudFormation needs; each says why."""
    for logical_id, resource in list(cfn["Resources"].items()):
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind.startswith("AWS::Cognito::") or kind.startswith("AWS::ApiGatewayV2::"):
            # Created through the API (Cognito) or served by the gateway (ApiGatewayV2); moto has no models for them.
            del cfn["Resources"][logical_id]
        elif kind == "AWS::ApiGateway::RestApi":
            # AWS takes the name from the OpenAPI body's title; moto requires the Name property.
            properties.setdefault("Name", f"{STACK_NAME}-{logical_id}")
        elif kind in ("AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"):
            # moto cannot deploy an imported OpenAPI body and has no Stage model; the gateway serves the REST routes.
            del cfn["Resources"][logical_id]
        elif kind == "AWS::StepFunctions::StateMachine" and "DefinitionSubstitutions" in properties:
            # moto ignores DefinitionSubstitutions: fold them into the definition as a Fn::Sub.
            definition = properties.pop("DefinitionString")
            if isinstance(definition, dict):  # SAM writes the definition as a Fn::Join of lines
                definition = definition["Fn::Join"][0].join(definition["Fn::Join"][1])
            properties["DefinitionString"] = {"Fn::Sub": [definition, properties.pop("DefinitionSubstitutions")]}
    cfn.update(substitute({key: cfn[key] for key in ("Resources", "Outputs")}, external))


def _create_stack(cfn: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(cfn),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {STACK_NAME}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    return stack


def _physical_ids() -> dict[str, str]:
    pages = boto3.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=STACK_NAME)
    return {summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
            for page in pages for summary in page["StackResourceSummaries"]}


def _recreate_state_machines_executable(cfn: dict[str, Any], physical_ids: dict[str, str]) -> None:
    """CloudFormation puts state machines in moto's non-executing backend; the API with execute_state_machine on
    uses the executing one. Re-create each there with the same name, definition and role, so the ARN in the
    outputs starts executions that really run."""
    sfn = boto3.client("stepfunctions")
    for logical_id, properties in resources(cfn, "AWS::StepFunctions::StateMachine"):
        machine = cloudformation_state_machine(physical_ids[logical_id])
        sfn.create_state_machine(name=machine.name, definition=machine.definition, roleArn=machine.roleArn,
                                 type=properties.get("StateMachineType", "STANDARD"))


def _function_env(cfn: dict[str, Any], physical_ids: dict[str, str]) -> dict[str, str]:
    """The functions' environment as moto resolved it. Functions share this process, so their variables merge."""
    lambda_ = boto3.client("lambda")
    merged: dict[str, str] = {}
    for logical_id, _ in resources(cfn, "AWS::Lambda::Function"):
        configuration = lambda_.get_function_configuration(FunctionName=physical_ids[logical_id])
        for name, value in configuration.get("Environment", {}).get("Variables", {}).items():
            if merged.setdefault(name, str(value)) != str(value):
                log.warning("%s sets %s=%s, another function %s; the devstack keeps the first",
                            logical_id, name, value, merged[name])
    return merged


def _event_source(logical_id: str, properties: dict[str, Any], outputs: dict[str, str]) -> EventSourceMapping:
    source_arn = outputs[f"{_EVENT_SOURCE_OUTPUT}{logical_id}"]
    retries = properties.get("MaximumRetryAttempts", -1)
    return EventSourceMapping(
        logical_id=logical_id,
        function=properties["FunctionName"]["Ref"],
        source_arn=source_arn,
        batch_size=int(properties.get("BatchSize", 100 if ":dynamodb:" in source_arn else 10)),
        maximum_retry_attempts=None if retries == -1 else int(retries),
        bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
        report_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
        on_failure_arn=outputs.get(f"{_EVENT_SOURCE_OUTPUT}{logical_id}{_ON_FAILURE_SUFFIX}"),
    )
