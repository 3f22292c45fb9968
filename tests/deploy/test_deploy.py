"""The container and AWS deployment files: linted, parsed and checked against each other.

No Docker engine and no AWS account are needed: cfn-lint and hadolint run locally, the CloudFormation
template and the Compose file are read as data, and the line of buildspec.yml that writes
imagedefinitions.json is run in bash with made-up values, so that its container names can be compared with
the task definitions'.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BUILDSPEC = ROOT / "buildspec.yml"
COMPOSE = ROOT / "compose.yaml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
PYPROJECT = ROOT / "pyproject.toml"

IN_CI = bool(os.environ.get("CI"))
SECRET_NAMES = ("X_BEARER_TOKEN", "SECRET_KEY")
FAKE_REPOSITORY_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/twitterstream"


# ---- helpers ----------------------------------------------------------------------------------------------


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that also reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, !If, ...).

    Each tag becomes the long form it stands for: ``!Ref X`` -> ``{"Ref": "X"}``,
    ``!Sub s`` -> ``{"Fn::Sub": s}``, ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``.
    """


def _construct_cloudformation_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_cloudformation_tag)


def load_template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # a SafeLoader subclass


def branches(value: Any) -> list[Any]:
    """Every value an ``Fn::If`` may produce (both branches, recursively); other values as they are."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _condition, when_true, when_false = value["Fn::If"]
        return branches(when_true) + branches(when_false)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] == "AWS::NoValue":
        return []
    return [value]


def items(value: Any) -> list[Any]:
    """The members of a list that may hold ``Fn::If`` members (or be one), with every branch included."""
    return [member for entry in branches(value) for item in entry for member in branches(item)]


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every container definition of every task definition, by container name."""
    found: dict[str, dict[str, Any]] = {}
    for task in resources_of_type(template, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            assert container["Name"] not in found, f"two containers named {container['Name']!r}"
            found[container["Name"]] = container
    return found


def tool(name: str) -> str:
    """The path of a linter installed with the dev extras (next to this Python first), or fail/skip loudly."""
    candidate = Path(sys.executable).parent / name
    path = str(candidate) if candidate.exists() else shutil.which(name)
    if path is None:
        message = f"{name} is not installed: `pip install -e '.[dev]'` installs it"
        if IN_CI:
            pytest.fail(message)
        print(f"\n!!! SKIPPING A DEPLOYMENT CHECK: {message} !!!", file=sys.stderr)
        pytest.skip(message)
    return path


def buildspec_commands() -> list[tuple[str, str]]:
    """(phase, command) in the order CodeBuild runs them."""
    spec = yaml.safe_load(BUILDSPEC.read_text())
    order = ("install", "pre_build", "build", "post_build")
    phases = spec["phases"]
    return [(phase, command) for phase in order for command in phases.get(phase, {}).get("commands", [])]


def run_bash(command: str, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, f"{command!r} failed: {result.stderr}"
    return result.stdout


# ---- linters ----------------------------------------------------------------------------------------------


def test_cloudformation_template_is_lint_clean() -> None:
    result = subprocess.run(
        [tool("cfn-lint"), "--", str(TEMPLATE)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), (
        f"cfn-lint reports errors or warnings:\n{result.stdout}{result.stderr}"
    )


def test_dockerfile_is_lint_clean() -> None:
    result = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), f"hadolint:\n{result.stdout}{result.stderr}"


# ---- Dockerfile -------------------------------------------------------------------------------------------


def test_dockerfile_builds_wheels_then_runs_as_a_user_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2, "multi-stage: a builder and a runtime stage"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.search(r":3\.11\.\d+-slim", base.group(1)), "base image pinned to a 3.11.x slim tag"
    runtime = text[text.rindex("\nFROM ") :]  # the last stage is the image
    user = re.findall(r"^USER (\S+)$", runtime, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0"), "the image must not run as root"
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime and "PYTHONUNBUFFERED=1" in runtime
    assert re.search(r"^EXPOSE 8000$", runtime, re.MULTILINE)
    healthcheck = re.search(r"^HEALTHCHECK .*?(?<!\\)$", runtime, re.MULTILINE | re.DOTALL)
    assert healthcheck, "a HEALTHCHECK"
    assert "127.0.0.1:8000/healthz" in healthcheck.group(0) and "curl" not in healthcheck.group(0)
    assert re.search(r'^CMD \["web",', runtime, re.MULTILINE), "the default role is web"


def test_the_image_gets_everything_the_gevent_worker_imports() -> None:
    """The image installs the runtime dependencies only, without the dev tools that happen to bring more.

    gunicorn's gevent worker imports `packaging`, which gunicorn declares only under its `gevent` extra:
    without it `twitterstream web` dies at start-up in the image while every test passes in a dev environment.
    """
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    names = {re.split(r"[\s<>=!~;]", d, maxsplit=1)[0].lower() for d in dependencies}
    assert "gunicorn[gevent]" in names or "packaging" in names, (
        "declare gunicorn[gevent] (or packaging) in pyproject.toml's dependencies"
    )


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context() -> None:
    rules = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()]
    rules = [rule for rule in rules if not rule.startswith("#")]
    assert rules[0] == "*", "an allow-list: exclude everything, then re-include what the build needs"
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    allowed = {"requirements/runtime.txt", "pyproject.toml", "README.md", "src"}
    assert included <= allowed, f"unexpected re-includes: {included - allowed}"
    assert "requirements/runtime.txt" in included, "the image installs from the runtime lock file"


# ---- buildspec.yml ----------------------------------------------------------------------------------------


def test_buildspec_runs_the_tests_before_pushing_and_stops_when_they_fail() -> None:
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert str(spec["version"]) == "0.2"
    commands = buildspec_commands()
    texts = [command for _phase, command in commands]
    tests = [i for i, command in enumerate(texts) if re.search(r"\bpytest\b", command)]
    pushes = [i for i, command in enumerate(texts) if "docker push" in command]
    assert tests, "the buildspec must run the test suite"
    assert pushes, "the buildspec must push the image"
    assert max(tests) < min(pushes), "the tests must run before any docker push"
    for i in tests:
        assert "||" not in texts[i] and "; true" not in texts[i], f"a failure must fail the build: {texts[i]}"
    # A failed phase must stop the build: CodeBuild otherwise runs post_build after a failed build phase.
    for phase in {commands[i][0] for i in tests + pushes}:
        assert spec["phases"][phase].get("on-failure") == "ABORT", f"phase {phase} needs on-failure: ABORT"
    assert "imagedefinitions.json" in spec["artifacts"]["files"]


def test_buildspec_tags_the_image_with_the_commit(tmp_path: Path) -> None:
    (command,) = [c for _phase, c in buildspec_commands() if c.startswith("IMAGE_TAG=")]
    sha = "0123456789abcdef0123456789abcdef01234567"
    tag = run_bash(f'{command}; printf %s "$IMAGE_TAG"', {"CODEBUILD_RESOLVED_SOURCE_VERSION": sha}, tmp_path)
    assert tag == sha[:7]
    assert run_bash(f'{command}; printf %s "$IMAGE_TAG"', {}, tmp_path) == "latest"


def test_imagedefinitions_name_the_containers_of_the_task_definitions(tmp_path: Path) -> None:
    (command,) = [c for phase, c in buildspec_commands() if phase == "post_build" and "> imagedefinitions.json" in c]
    run_bash(command, {"REPOSITORY_URI": FAKE_REPOSITORY_URI, "IMAGE_TAG": "abc1234"}, tmp_path)
    definitions = json.loads((tmp_path / "imagedefinitions.json").read_text())

    assert isinstance(definitions, list)
    assert all(set(entry) == {"name", "imageUri"} for entry in definitions)
    assert all(entry["imageUri"] == f"{FAKE_REPOSITORY_URI}:abc1234" for entry in definitions)
    names = [entry["name"] for entry in definitions]
    assert sorted(names) == sorted(containers(load_template())) == ["ingester", "web"]


# ---- CloudFormation ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_each_role_runs_from_the_same_image_with_its_own_command(template: dict[str, Any]) -> None:
    found = containers(template)
    assert set(found) == {"web", "ingester"}
    assert found["web"]["Image"] == found["ingester"]["Image"]
    assert found["web"]["Command"][0] == "web"
    assert found["ingester"]["Command"][0] == "ingest"
    for container in found.values():
        command = container["Command"]
        assert command[command.index("--port") + 1] == "8000"
        environment = {item["Name"]: item["Value"] for item in items(container.get("Environment", []))}
        assert environment["LOG_FORMAT"] == "json"
        assert "DATABASE_URL" in environment


def test_secrets_reach_the_containers_only_through_the_secrets_block(template: dict[str, Any]) -> None:
    found = containers(template)
    for name, container in found.items():
        environment = {item["Name"] for item in items(container.get("Environment", []))}
        assert not environment & set(SECRET_NAMES), f"{name} has a secret as a plain environment value"
    secrets = {name: {item["Name"] for item in items(c.get("Secrets", []))} for name, c in found.items()}
    assert "X_BEARER_TOKEN" in secrets["ingester"]
    assert "SECRET_KEY" in secrets["ingester"] and "SECRET_KEY" in secrets["web"]
    # The token is an SSM parameter or a Secrets Manager secret, and the key is generated.
    (token,) = [item for item in items(found["ingester"]["Secrets"]) if item["Name"] == "X_BEARER_TOKEN"]
    assert re.search(r":(ssm|secretsmanager):", json.dumps(token["ValueFrom"]))
    (generated,) = resources_of_type(template, "AWS::SecretsManager::Secret").values()
    assert "GenerateSecretString" in generated["Properties"]


def test_one_ingester_and_it_is_stopped_before_its_replacement_starts(template: dict[str, Any]) -> None:
    services = resources_of_type(template, "AWS::ECS::Service")
    by_container = {}
    for service in services.values():
        task = template["Resources"][service["Properties"]["TaskDefinition"]["Ref"]]
        (container,) = task["Properties"]["ContainerDefinitions"]
        by_container[container["Name"]] = service["Properties"]
    ingester, web = by_container["ingester"], by_container["web"]
    assert max(branches(ingester["DesiredCount"])) == 1
    assert ingester["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    assert ingester["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert "LoadBalancers" not in ingester
    assert [lb["ContainerName"] for lb in web["LoadBalancers"]] == ["web"]


def test_the_load_balancer_suits_long_lived_streams(template: dict[str, Any]) -> None:
    (group,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["Properties"]["HealthCheckPath"] == "/healthz"
    attributes = {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}
    assert int(attributes["deregistration_delay.timeout_seconds"]) <= 60
    (balancer,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    # Longer than the app's 15 s keep-alive comments, shorter than gunicorn's 75 s keep-alive.
    assert 30 <= int(attributes["idle_timeout.timeout_seconds"]) < 75


def test_the_pipeline_deploys_both_services_from_the_build_output(template: dict[str, Any]) -> None:
    (pipeline,) = resources_of_type(template, "AWS::CodePipeline::Pipeline").values()
    stages = {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}
    assert stages["Source"][0]["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    deploys = [a for a in stages["Deploy"] if a["ActionTypeId"]["Provider"] == "ECS"]
    deployed = {a["Configuration"]["ServiceName"]["Fn::GetAtt"][0] for a in deploys}
    assert deployed == set(resources_of_type(template, "AWS::ECS::Service"))
    assert all(a["Configuration"]["FileName"] == "imagedefinitions.json" for a in deploys)
    (project,) = resources_of_type(template, "AWS::CodeBuild::Project").values()
    environment = project["Properties"]["Environment"]
    assert environment["PrivilegedMode"] is True
    assert "REPOSITORY_URI" in {variable["Name"] for variable in environment["EnvironmentVariables"]}


# ---- compose.yaml -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def role_of(service: dict[str, Any]) -> str | None:
    command = service.get("command")
    return command[0] if isinstance(command, list) and command else None


def test_compose_runs_redis_one_ingester_and_two_web_replicas(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert any(str(s.get("image", "")).startswith("redis:") for s in services.values())
    replicas = {"ingest": 0, "web": 0}
    for service in services.values():
        role = role_of(service)
        if role in replicas:
            replicas[role] += int(service.get("deploy", {}).get("replicas", 1))
            assert service["environment"]["DATABASE_URL"].startswith("redis://")
            assert "healthcheck" in service
            assert service["depends_on"]["redis"]["condition"] == "service_healthy"
            assert "container_name" not in service and "ports" not in service
    assert replicas == {"ingest": 1, "web": 2}


def test_compose_proxies_to_the_web_replicas_without_buffering_the_stream(compose: dict[str, Any]) -> None:
    (proxy,) = [s for s in compose["services"].values() if str(s.get("image", "")).startswith("nginx:")]
    assert any(str(port).startswith("127.0.0.1:8080:") for port in proxy["ports"])
    assert any(volume.startswith("./deploy/nginx.conf:") for volume in proxy["volumes"])
    web_services = [name for name, s in compose["services"].items() if role_of(s) == "web"]
    assert all(proxy["depends_on"][name]["condition"] == "service_healthy" for name in web_services)

    config = NGINX_CONF.read_text()
    stream = re.search(r"location [^{]*/api/v1/stream[^{]*\{(?P<body>[^}]*)\}", config)
    assert stream, "nginx.conf needs a location for the live stream"
    assert re.search(r"^\s*proxy_buffering\s+off;", stream.group("body"), re.MULTILINE)
    assert re.search(r"proxy_read_timeout\s+(\d+h|\d{3,}s?);", stream.group("body")), "a long read timeout"
    assert re.search(r"^\s*proxy_http_version\s+1\.1;", config, re.MULTILINE)


def test_compose_never_holds_the_token_itself(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping, please"
        for variable in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN", "MASTODON_ACCESS_TOKEN"):
            if variable in environment:
                assert re.fullmatch(rf"\$\{{{variable}(:?-)?\}}", environment[variable]), (
                    f"{name}: {variable} must come from the shell or .env, not be written in compose.yaml"
                )


# ---- every source's settings reach the ingester (TWITTERSTREAM_SOURCE may be a list) ------------------------

NO_VALUE = object()


class Stack:
    """The template with its parameters chosen: conditions decided, ``Fn::If`` branches taken, strings made.

    Enough of CloudFormation's functions to read what a task gets (Ref, Sub, Join, Split, GetAtt, Equals, Not,
    And, Or, Condition, If); a resource or attribute stands as ``<Name>`` / ``<Name.Attr>``.
    """

    def __init__(self, template: dict[str, Any], **chosen: str) -> None:
        self.template = template
        declared = template["Parameters"]
        assert set(chosen) <= set(declared), f"no such parameter: {set(chosen) - set(declared)}"
        self.parameters = {name: str(body.get("Default", "")) for name, body in declared.items()}
        self.parameters.update(chosen)
        for name, value in chosen.items():
            pattern = declared[name].get("AllowedPattern")
            assert pattern is None or re.fullmatch(pattern, value), f"{name}={value!r} breaks its AllowedPattern"

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        return f"<{name}>"  # a resource, or AWS::Region and the like

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            return NO_VALUE if node["Ref"] == "AWS::NoValue" else self.ref(node["Ref"])
        if set(node) == {"Condition"}:
            return self.condition(node["Condition"])
        if len(node) == 1:
            ((function, args),) = node.items()
            if function == "Fn::If":
                name, when_true, when_false = args
                return self.value(when_true if self.condition(name) else when_false)
            if function == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self.ref(m.group(1)), args)
            if function == "Fn::GetAtt":
                return f"<{'.'.join(args)}>"
            if function == "Fn::Join":
                separator, parts = args
                return separator.join(self.value(parts))
            if function == "Fn::Split":
                separator, text = args
                return self.value(text).split(separator)
            if function == "Fn::Equals":
                first, second = self.value(args)
                return first == second
            if function == "Fn::Not":
                return not self.value(args[0])
            if function == "Fn::And":
                return all(self.value(args))
            if function == "Fn::Or":
                return any(self.value(args))
        return {key: self.value(item) for key, item in node.items()}

    def container(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.value(containers(self.template)[name])
        return found

    def environment(self, name: str) -> dict[str, str]:
        return {item["Name"]: item["Value"] for item in self.container(name).get("Environment", [])}

    def secrets(self, name: str) -> dict[str, str]:
        return {item["Name"]: item["ValueFrom"] for item in self.container(name).get("Secrets", [])}

    def parameters_read_at_start(self) -> set[str]:
        """The SSM parameters the task execution role may read."""
        role = self.value(self.template["Resources"]["TaskExecutionRole"])
        statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        return {ssm_name(s["Resource"]) for s in statements if s["Action"] == "ssm:GetParameters"}


def ssm_name(value_from: str) -> str:
    return value_from.rpartition(":parameter")[2]


@pytest.mark.parametrize(
    ("chosen", "secrets", "environment"),
    [
        ({"Source": "x"}, {"X_BEARER_TOKEN": "/twitterstream/x-bearer-token"}, {}),
        ({"Source": "bluesky"}, {}, {}),
        (
            {"Source": "bluesky", "BlueskyJetstreamUrl": "wss://js.example/subscribe,wss://js2.example/subscribe"},
            {},
            {"BLUESKY_JETSTREAM_URL": "wss://js.example/subscribe,wss://js2.example/subscribe"},
        ),
        (
            {"Source": "mastodon,replay", "MastodonUrl": "https://a.example,https://b.example"},
            {},
            {"MASTODON_URL": "https://a.example,https://b.example"},
        ),
        (
            {
                "Source": "x,bluesky,mastodon",
                "XBearerTokenParameterName": "/wall/x",
                "MastodonAccessTokenParameterName": "/wall/mastodon",
            },
            {"X_BEARER_TOKEN": "/wall/x", "MASTODON_ACCESS_TOKEN": "/wall/mastodon"},
            {"MASTODON_URL": "https://mastodon.social"},
        ),
        # A Mastodon token parameter is not wired (nor readable) while Mastodon is not a source.
        ({"Source": "bluesky", "MastodonAccessTokenParameterName": "/wall/mastodon"}, {}, {}),
    ],
)
def test_the_ingester_gets_the_settings_of_every_source_it_runs(
    template: dict[str, Any], chosen: dict[str, str], secrets: dict[str, str], environment: dict[str, str]
) -> None:
    stack = Stack(template, **chosen)
    ingester_secrets = stack.secrets("ingester")
    assert {name: ssm_name(v) for name, v in ingester_secrets.items() if name != "SECRET_KEY"} == secrets
    assert stack.parameters_read_at_start() == set(secrets.values())  # the execution role reads just those
    ingester_environment = stack.environment("ingester")
    source_settings = {"BLUESKY_JETSTREAM_URL", "MASTODON_URL"}
    assert {k: v for k, v in ingester_environment.items() if k in source_settings} == environment
    assert ingester_environment["TWITTERSTREAM_SOURCE"] == chosen["Source"]
    # The web tasks name the same sources, and the Mastodon instances (their pictures' CSP), never a token.
    web = stack.environment("web")
    assert web["TWITTERSTREAM_SOURCE"] == chosen["Source"]
    assert web.get("MASTODON_URL") == environment.get("MASTODON_URL")
    assert set(stack.secrets("web")) == {"SECRET_KEY"}

    # What the app makes of it: every source named runs, with the settings given.
    from twitterstream.config import load_settings

    settings = load_settings(
        {**ingester_environment, **{name: "a-secret-value" for name in ingester_secrets}}, env_file=None
    )
    assert settings.source_names == tuple(chosen["Source"].split(","))
    if "BLUESKY_JETSTREAM_URL" in environment:
        assert ",".join(settings.bluesky_jetstream_urls) == environment["BLUESKY_JETSTREAM_URL"]
    if "MASTODON_URL" in environment:
        assert ",".join(settings.mastodon_instances) == environment["MASTODON_URL"]
    assert (settings.mastodon_access_token is not None) is ("MASTODON_ACCESS_TOKEN" in secrets)


@pytest.mark.parametrize("value", ["x,myspace", "x, bluesky", "all", "", "x,,bluesky"])
def test_the_source_parameter_takes_only_lists_of_known_sources(template: dict[str, Any], value: str) -> None:
    assert not re.fullmatch(template["Parameters"]["Source"]["AllowedPattern"], value)


def test_compose_passes_every_source_s_settings_from_the_shell(compose: dict[str, Any]) -> None:
    from twitterstream.config import load_settings

    for service in compose["services"].values():
        if role_of(service) not in ("ingest", "web"):
            continue
        environment = service["environment"]
        for name in ("TWITTERSTREAM_SOURCE", "X_BEARER_TOKEN", "BLUESKY_JETSTREAM_URL", "MASTODON_URL"):
            assert environment[name] == f"${{{name}:-}}", name
        assert environment["MASTODON_ACCESS_TOKEN"] == "${MASTODON_ACCESS_TOKEN:-}"
    # With nothing in the shell, Compose passes them empty: the app's defaults.
    empty = {name: "" for name in ("TWITTERSTREAM_SOURCE", "BLUESKY_JETSTREAM_URL", "MASTODON_URL", "X_API_URL")}
    settings = load_settings(empty, env_file=None)
    assert settings.source_names == ("bluesky",) and settings.bluesky_jetstream_urls and settings.x_api_url
