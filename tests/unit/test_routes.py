"""The deployment, the app and the documentation describe the same API: template routes == Chalice == OpenAPI."""

from pathlib import Path

import yaml
from openapi_spec_validator import validate
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]


def template_routes() -> set[tuple[str, str]]:
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    api = resources["ApiFunction"]["Properties"]["Events"].values()
    return {(event["Properties"]["Method"].upper(), event["Properties"]["Path"]) for event in api}


def chalice_routes() -> set[tuple[str, str]]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("switchboard_api_routes", ROOT / "functions/api/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {(method, path) for path, entries in module.app.routes.items() for method in entries}


def openapi_routes() -> set[tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    verbs = {"get", "post", "put", "patch", "delete"}
    return {(verb.upper(), path) for path, item in spec["paths"].items() for verb in item if verb in verbs}


def test_template_app_and_openapi_declare_the_same_routes():
    assert template_routes() == chalice_routes() == openapi_routes()


def test_openapi_document_is_valid():
    validate(yaml.safe_load((ROOT / "openapi.yaml").read_text()))


def test_webhook_routes_accept_post_and_get():
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    events = resources["WebhooksFunction"]["Properties"]["Events"].values()
    assert {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events} == {
        ("POST", "/webhooks/{channel}/{inbox_id}"),
        ("GET", "/webhooks/{channel}/{inbox_id}"),
    }
