"""What the devstack reads from template.yaml: the functions and the routes of the APIs that the gateway serves in
place of API Gateway, plus a small resolver for the intrinsics (Ref, Fn::GetAtt, Fn::Sub) it needs to evaluate."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# ${Name} or ${Name.Attribute} inside Fn::Sub; ${!Literal} is an escape and does not match.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse the SAM template; short-form tags (!Ref, !Sub, !GetAtt) become their long forms."""
    return yaml_parse(path.read_text())


def resources(template: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of every resource of one type."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == resource_type:
            yield logical_id, resource.get("Properties", {})


def substitute(value: Any, known: Mapping[str, Any]) -> Any:
    """Replace Ref, Fn::GetAtt and Fn::Sub placeholders whose names are in `known` ("UserPool", "UserPool.Arn",
    "AWS::StackName", a parameter...) by their values; every other intrinsic is left for CloudFormation."""
    if isinstance(value, list):
        return [substitute(item, known) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument in known:
            return known[argument]
        if function == "Fn::GetAtt" and ".".join(argument) in known:
            return known[".".join(argument)]
        if function == "Fn::Sub":
            return _substitute_sub(argument, known)
    return {key: substitute(item, known) for key, item in value.items()}


def _substitute_sub(argument: str | list[Any], known: Mapping[str, Any]) -> str | dict[str, Any]:
    text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], substitute(argument[1], known))
    unresolved = {name: item for name, item in variables.items() if not isinstance(item, str | int)}
    scope = {**known, **{name: item for name, item in variables.items() if name not in unresolved}}
    text = _PLACEHOLDER.sub(lambda match: str(scope.get(match.group(1), match.group(0))), text)
    if _PLACEHOLDER.search(text):
        return {"Fn::Sub": [text, unresolved] if unresolved else text}
    return text


def referenced_resource(sub: Any, template: Mapping[str, Any]) -> str:
    """The first resource a Fn::Sub names, e.g. "RealtimeFunction" in "...${AWS::Region}...${RealtimeFunction.Arn}"."""
    text = sub["Fn::Sub"] if isinstance(sub, dict) else sub
    for match in _PLACEHOLDER.finditer(text if isinstance(text, str) else text[0]):
        name = match.group(1).split(".")[0]
        if name in template["Resources"]:
            return name
    raise ValueError(f"expected a !Sub that names a resource, got {sub!r}")


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the devstack runs it: its code folder, handler and limits (Globals applied)."""

    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, own in resources(template, "AWS::Serverless::Function"):
        properties = {**defaults, **own}
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=REPO_ROOT / properties["CodeUri"],
            handler=properties["Handler"],
            timeout=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
        )
    return specs


@dataclass(frozen=True)
class HttpRoute:
    """One method of one path on a REST API (payload v1) or an HTTP API (payload v2), and the function behind it."""

    api: str
    payload_version: str
    stage: str
    path: str
    method: str
    function: str
    authorizer: str | None


def http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    routes = []
    for function, properties in resources(template, "AWS::Serverless::Function"):
        for event in properties.get("Events", {}).values():
            if event["Type"] in ("Api", "HttpApi"):
                routes.append(_http_route(template, function, event["Type"], event["Properties"]))
    return routes


def _http_route(template: Mapping[str, Any], function: str, event_type: str, event: dict[str, Any]) -> HttpRoute:
    rest = event_type == "Api"
    implicit_api = "ServerlessRestApi" if rest else "ServerlessHttpApi"  # SAM's name for an API not declared
    api = event.get("RestApiId" if rest else "ApiId", {}).get("Ref", implicit_api)
    api_properties = template["Resources"].get(api, {}).get("Properties", {})
    if not rest and api_properties.get("Auth"):
        raise NotImplementedError(f"{api}: the devstack gateway does not emulate HTTP API authorizers")
    authorizer = event.get("Auth", {}).get("Authorizer", api_properties.get("Auth", {}).get("DefaultAuthorizer"))
    return HttpRoute(
        api=api,
        payload_version="1.0" if rest else "2.0",
        stage=api_properties.get("StageName", "Prod" if rest else "$default"),  # SAM's implicit API stage is Prod
        path=event["Path"],
        method=event["Method"].upper(),
        function=function,
        authorizer=None if authorizer in (None, "NONE") else authorizer,
    )


def cognito_authorizers(template: Mapping[str, Any]) -> dict[str, Any]:
    """Authorizer name → its UserPoolArn (an intrinsic) for every REST API; other authorizer kinds are refused."""
    found = {}
    for api, properties in resources(template, "AWS::Serverless::Api"):
        for name, authorizer in properties.get("Auth", {}).get("Authorizers", {}).items():
            if "UserPoolArn" not in authorizer:
                raise NotImplementedError(f"{api}.{name}: the devstack gateway emulates Cognito authorizers only")
            found[name] = authorizer["UserPoolArn"]
    return found


def rest_cors_headers(template: Mapping[str, Any], api: str, known: Mapping[str, Any]) -> dict[str, str]:
    """The headers API Gateway's CORS preflight mock answers with, from the API's Cors setting."""
    cors = template["Resources"].get(api, {}).get("Properties", {}).get("Cors")
    if cors is None:
        return {}
    if not isinstance(cors, dict):
        cors = {"AllowOrigin": cors}
    names = {
        "AllowOrigin": "Access-Control-Allow-Origin",
        "AllowHeaders": "Access-Control-Allow-Headers",
        "AllowMethods": "Access-Control-Allow-Methods",
        "MaxAge": "Access-Control-Max-Age",
    }
    # SAM's values are API Gateway mapping expressions: a literal is wrapped in single quotes.
    return {header: str(substitute(cors[key], known)).strip("'") for key, header in names.items() if key in cors}


def unauthorized_response(template: Mapping[str, Any], api: str,
                          known: Mapping[str, Any]) -> tuple[int, dict[str, str], str] | None:
    """What API Gateway answers when the authorizer refuses a request, from the API's GatewayResponses."""
    responses = template["Resources"].get(api, {}).get("Properties", {}).get("GatewayResponses", {})
    response = responses.get("UNAUTHORIZED")
    if response is None:
        return None
    headers = response.get("ResponseParameters", {}).get("Headers", {})
    body = next(iter(response.get("ResponseTemplates", {}).values()), "")
    return (int(response.get("StatusCode", 401)),
            {name: str(substitute(value, known)).strip("'") for name, value in headers.items()}, body)


@dataclass(frozen=True)
class WebSocketApi:
    """An ApiGatewayV2 WebSocket API: how it selects a route, and which function serves each route."""

    api: str
    stage: str
    selection_expression: str
    route_functions: dict[str, str]


def websocket_apis(template: Mapping[str, Any]) -> list[WebSocketApi]:
    found = []
    for api, properties in resources(template, "AWS::ApiGatewayV2::Api"):
        if properties.get("ProtocolType") != "WEBSOCKET":
            continue
        stages = [stage["StageName"] for _, stage in resources(template, "AWS::ApiGatewayV2::Stage")
                  if stage["ApiId"] == {"Ref": api}]
        integrations = dict(resources(template, "AWS::ApiGatewayV2::Integration"))
        route_functions = {
            route["RouteKey"]: referenced_resource(
                integrations[referenced_resource(route["Target"], template)]["IntegrationUri"], template)
            for _, route in resources(template, "AWS::ApiGatewayV2::Route")
            if route["ApiId"] == {"Ref": api}
        }
        found.append(WebSocketApi(api, stages[0] if stages else "$default",
                                  properties["RouteSelectionExpression"], route_functions))
    return found
