"""The README's promises and the deployment file agree with the code."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from lib.settings import (
    DEFAULT_ELEMENT_PREFIX,
    DEFAULT_RECEIPT_PREFIX,
    SETTING_NAMES,
    load_settings,
    read_credentials,
)
from lib.webhook import sign

ROOT = Path(__file__).resolve().parents[2]


def readme_verifier() -> Any:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- verify-recipe -->\s*```python\n(.*?)```", text, re.S)
    assert block, "the README has a verify recipe block"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def test_readme_verifier_accepts_our_signature_and_rejects_tampering() -> None:
    """The receiver recipe in the README verifies what the relay signs, and nothing else."""
    verify = readme_verifier()
    body = b'{"event":"element.submitted"}'
    header = sign("s3cret", int(time.time()), body)
    assert verify("s3cret", header, body)
    assert not verify("s3cret", header, body + b" ")
    assert not verify("other", header, body)
    assert not verify("s3cret", sign("s3cret", int(time.time()) - 3600, body), body)


def test_readme_shows_the_two_commands() -> None:
    """make demo and make test are where a newcomer looks."""
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_serverless_yml_handler_resolves_and_filter_matches_settings() -> None:
    """serverless.yml's handler is importable and callable; its COS prefix is the ELEMENT_PREFIX default."""
    text = (ROOT / "serverless.yml").read_text()
    handler_ref = re.search(r"^\s+handler:\s*(\S+)", text, re.M)
    assert handler_ref
    module, _, function = handler_ref.group(1).rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))
    assert re.search(r"^\s+runtime:\s*Python3\.10\b", text, re.M)
    assert re.search(r"^component:\s*scf$", text, re.M)
    prefix = re.search(r"prefix:\s*(\S+)", text)
    assert prefix and prefix.group(1) == DEFAULT_ELEMENT_PREFIX
    for excluded in ("tests/**", "events/**", ".env", "devstack/**"):
        assert excluded in text


def test_lambda_alias_is_the_same_function() -> None:
    """lambda_handler is main_handler."""
    import handler

    assert handler.lambda_handler is handler.main_handler


# Deployment files: serverless.yml (SCF) and template.yaml (SAM), parsed as YAML.

RESERVED_PREFIXES = ("TENCENTCLOUD_", "SCF_", "QCLOUD_")  # SCF refuses user variables with these
CREDENTIAL_FALLBACKS = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN")


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _cfn_tag)


def serverless() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "serverless.yml").read_text())
    return data


def sam_function() -> dict[str, Any]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)  # noqa: S506
    properties: dict[str, Any] = template["Resources"]["RelayFunction"]["Properties"]
    return properties


def resolves_to_main_handler(reference: str) -> bool:
    module, _, function = reference.rpartition(".")
    import handler

    return getattr(importlib.import_module(module), function) is handler.main_handler


def test_serverless_yml_is_complete() -> None:
    """component scf, Python3.10, the handler, limits within SCF's ranges, role, package and excludes."""
    config = serverless()
    inputs = config["inputs"]
    assert config["component"] == "scf" and config["app"] and config["name"]
    assert resolves_to_main_handler(inputs["handler"])
    assert inputs["runtime"] == "Python3.10" and inputs["type"] == "event"
    assert inputs["memorySize"] == 64 or (
        128 <= inputs["memorySize"] <= 3072 and inputs["memorySize"] % 128 == 0
    )
    assert 1 <= inputs["timeout"] <= 900 and 3 <= inputs["initTimeout"] <= 300
    assert inputs["role"].startswith("${env:")
    assert inputs["src"]["src"] == "./build/package"  # devstack/packaging/build.py's DEFAULT_TREE
    for excluded in (".env", "tests/**", "events/**", "devstack/**", "bench/**"):
        assert excluded in inputs["src"]["exclude"]
    for shipped in ("**/__pycache__/**", "**/*.pyc", "__pycache__", "*.pyc"):  # the package's bytecode
        assert shipped not in inputs["src"]["exclude"]
    text = (ROOT / "serverless.yml").read_text()
    for field in ("memorySize", "timeout", "initTimeout"):  # each value comes with its reason
        assert re.search(rf"^  # {field} \S+: ", text, re.M), f"no comment explaining {field}"


def test_serverless_yml_cos_trigger_filters_element_uploads_only() -> None:
    """The COS trigger's prefix is ELEMENT_PREFIX (default and deployed value); receipts lie outside it."""
    inputs = serverless()["inputs"]
    variables = inputs["environment"]["variables"]
    cos = [event["cos"]["parameters"] for event in inputs["events"] if "cos" in event]
    assert len(cos) == 1
    assert cos[0]["filter"]["prefix"] == DEFAULT_ELEMENT_PREFIX == variables["ELEMENT_PREFIX"]
    assert cos[0]["events"].startswith("cos:ObjectCreated:")
    assert cos[0]["bucket"].endswith(".myqcloud.com")
    receipts = variables["RECEIPT_PREFIX"]
    assert receipts == DEFAULT_RECEIPT_PREFIX and not receipts.startswith(cos[0]["filter"]["prefix"])


def test_serverless_yml_environment_is_what_the_code_reads() -> None:
    """Every variable set (or offered commented out) is a setting; none is reserved; all empty is valid."""
    text = (ROOT / "serverless.yml").read_text()
    variables: dict[str, Any] = serverless()["inputs"]["environment"]["variables"]
    offered = re.findall(r"^\s+#\s*([A-Z][A-Z0-9_]+): \$\{env:", text, re.M)
    assert offered, "optional settings are offered as commented lines"
    for name in [*variables, *offered]:
        assert name in SETTING_NAMES, f"{name} is not read by lib.settings"
        assert not name.startswith(RESERVED_PREFIXES)
    deployed = {
        name: "" if str(value).startswith("${env:") else str(value) for name, value in variables.items()
    }
    settings = load_settings(deployed)  # every ${env:...} left empty still gives valid settings
    assert settings.element_prefix == DEFAULT_ELEMENT_PREFIX


def test_env_example_lists_every_deployer_variable() -> None:
    """Each ${env:NAME} of serverless.yml has a line in .env.example (set or commented out)."""
    names = set(re.findall(r"\$\{env:([A-Z0-9_]+)\}", (ROOT / "serverless.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    assert {"STAGE", "REGION", "ELEMENT_BUCKET", "EXECUTION_ROLE", "CALLBACK_URL"} <= names
    for name in names:
        assert re.search(rf"^(# )?{name}=", example, re.M), f"{name} missing from .env.example"


def test_sam_template_offers_the_same_function_on_lambda() -> None:
    """python3.12 (what make package TARGET=lambda builds for), handler.lambda_handler, the package of
    make package, S3 + function URL + SQS."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)  # noqa: S506
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    function = sam_function()
    assert function["Handler"] == "handler.lambda_handler" and resolves_to_main_handler(function["Handler"])
    assert function["Runtime"] == "python3.12" and function["Architectures"] == ["x86_64"]
    assert function["CodeUri"] == "build/package-lambda"  # DEPLOYS["lambda"].tree
    assert function["FunctionUrlConfig"]["AuthType"] in ("NONE", "AWS_IAM")
    events = function["Events"]
    s3 = next(e["Properties"] for e in events.values() if e["Type"] == "S3")
    rules = {r["Name"]: r["Value"] for r in s3["Filter"]["S3Key"]["Rules"]}
    assert rules["prefix"] == DEFAULT_ELEMENT_PREFIX and s3["Events"].startswith("s3:ObjectCreated:")
    sqs = next(e["Properties"] for e in events.values() if e["Type"] == "SQS")
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = template["Resources"][sqs["Queue"]["Fn::GetAtt"][0]]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]  # AWS's advice for SQS event sources


def test_sam_template_environment_and_receipts() -> None:
    """Variables are settings (or the credential fallbacks); receipts are written only outside the prefix."""
    function = sam_function()
    variables = function["Environment"]["Variables"]
    for name in variables:
        assert name in SETTING_NAMES or name in CREDENTIAL_FALLBACKS, f"{name} is not read by the code"
    assert variables["ELEMENT_PREFIX"] == DEFAULT_ELEMENT_PREFIX
    assert variables["RECEIPT_PREFIX"] == DEFAULT_RECEIPT_PREFIX
    assert (
        read_credentials({"TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}).secret_id == "id"
    )
    statements = function["Policies"][0]["Statement"]
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert [s["Resource"]["Fn::Sub"] for s in writes] == [
        f"arn:${{AWS::Partition}}:s3:::${{ElementBucketName}}/{DEFAULT_RECEIPT_PREFIX}*"
    ]


def test_sam_template_references_exist() -> None:
    """Every !Ref, !GetAtt and ${...} in !Sub names a parameter, a resource or a pseudo parameter."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)  # noqa: S506
    known = set(template["Parameters"]) | set(template["Resources"]) | {"RelayFunctionUrl"}  # SAM adds it

    def walk(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = []
            for key, item in value.items():
                if key == "Ref":
                    found.append(item)
                elif key == "Fn::GetAtt":
                    found.append(item[0])
                elif key == "Fn::Sub":
                    found += [n for n in re.findall(r"\$\{([^}.!]+)", item) if not n.startswith("AWS::")]
                else:
                    found += walk(item)
            return found
        if isinstance(value, list):
            return [name for item in value for name in walk(item)]
        return []

    names = walk(template["Resources"]) + walk(template["Outputs"])
    assert names and set(names) <= known


def test_scf_and_lambda_deployments_agree() -> None:
    """The same memory, timeout, prefixes and settings on both platforms."""
    inputs, function = serverless()["inputs"], sam_function()
    assert (inputs["memorySize"], inputs["timeout"]) == (function["MemorySize"], function["Timeout"])
    scf_vars = inputs["environment"]["variables"]
    lambda_vars = function["Environment"]["Variables"]
    for name in ("ELEMENT_PREFIX", "RECEIPT_PREFIX", "MEDIA_URL_EXPIRES", "LOG_LEVEL"):
        assert scf_vars[name] == lambda_vars[name]
    assert set(scf_vars) <= set(lambda_vars)


def test_sam_template_passes_cfn_lint() -> None:
    """cfn-lint (CloudFormation and SAM schemas, runtime deprecations included) finds nothing at all:
    no error, no warning."""
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--", str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def test_readme_starts_with_the_quick_start_and_keeps_internals_in_docs() -> None:
    """Quick start first, then the user guide; the limiter's arithmetic lives in docs/, linked."""
    text = (ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[0] == "Quick start"
    for kept in ("Configuration", "Webhook", "Queues and the 20 requests/second quota", "Security"):
        assert kept in headings  # other sections, and serverless.yml/template.yaml, refer to these
    assert "half the average spacing" not in text  # the limiter's arithmetic
    assert "half the average spacing" in (ROOT / "docs" / "queues-and-quota.md").read_text()
    for page in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (ROOT / page).is_file(), page
    for raw in re.findall(r'README "([^"]+)"', (ROOT / "serverless.yml").read_text()):
        reference = " ".join(raw.replace("#", " ").split())  # a reference may wrap onto a comment line
        assert any(h.startswith(reference) for h in headings), reference


def test_readme_route_table_lists_every_route() -> None:
    """Every route the HTTP API serves has a row (GET /tasks/{task_id}, POST /vod/events included)."""
    from lib.http.api import ROUTES

    section = readme_section("HTTP API")
    for route in ROUTES:
        if route.pattern == "/":
            assert "also `POST /`" in section
            continue
        assert f"`{route.method} {route.pattern}`" in section, f"{route.method} {route.pattern}"


def test_readme_webhook_names_every_event() -> None:
    """X-Element-Event lists submitted, failed and completed."""
    line = next(x for x in readme_section("Webhook").splitlines() if x.startswith("X-Element-Event:"))
    assert line == "X-Element-Event: element.submitted | element.failed | element.completed"


def test_readme_and_serverless_agree_on_the_timer() -> None:
    """serverless.yml deploys the Timer trigger; the README says so and never that it is commented out."""
    events = serverless()["inputs"]["events"]
    assert any("timer" in event for event in events)
    text = (ROOT / "README.md").read_text()
    assert "commented Timer" not in text and "commented out until you want pull mode" not in text
    assert "the Timer trigger is already deployed" in readme_section("Deploy to SCF (step by step)")


def test_readme_package_figures_are_within_the_limits_the_tool_enforces() -> None:
    """The Packaging table's limits are devstack.packaging.build's, and its sizes are within them."""
    from devstack.packaging.build import DEPLOYS

    rows = {row.split("|")[1].strip(): row for row in readme_section("Packaging").splitlines() if "|" in row}
    limits = [cell.strip() for cell in rows["limit"].split("|")[2:4]]
    assert limits == [f"{DEPLOYS[t].max_zip_bytes // 2**20} MB" for t in ("scf", "lambda")]
    row = rows["size (bytecode included)"]
    sizes = [float(m) for m in re.findall(r"([\d.]+) MB zipped", row)]
    assert len(sizes) == 2
    for size, target in zip(sizes, ("scf", "lambda"), strict=True):
        assert size * 2**20 <= DEPLOYS[target].max_zip_bytes
