"""The AWS layout of issue 17 (deploy/aws/sextant.yaml), checked without an AWS account: cfn-lint
with no error or warning, then the properties that must hold whatever cfn-lint thinks: only the
load balancer faces the internet, the store is Multi-AZ, encrypted, private and backed up, no
secret is a parameter, the instances boot with scripts that parse and pass shellcheck."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy/aws/sextant.yaml"
BIN = Path(sys.executable).parent
OPEN = {"0.0.0.0/0", "::/0"}


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short forms (!Ref X -> {"Ref": "X"}, !Sub -> {"Fn::Sub": ...})."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader plus tags
    return data


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = BIN / "cfn-lint"
    assert binary.exists(), "cfn-lint is missing: it is pinned in requirements-dev.txt (make test installs it)"
    return subprocess.run(
        [str(binary), "--format", "parseable", "--", str(path)], capture_output=True, text=True, timeout=300
    )


def test_cfn_lint_finds_no_error_or_warning() -> None:
    result = cfn_lint(TEMPLATE)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_cfn_lint_does_catch_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("PubliclyAccessible: false", "PubliclyAccessible: nope"))
    result = cfn_lint(broken)
    assert result.returncode != 0 and "'nope' is not of type 'boolean'" in result.stdout


def test_only_the_load_balancer_is_open_to_the_internet() -> None:
    groups = resources("AWS::EC2::SecurityGroup")
    ingress = {name: group["Properties"].get("SecurityGroupIngress", []) for name, group in groups.items()}
    assert resources("AWS::EC2::SecurityGroupIngress") == {}  # every rule is inline, so all are seen here
    opened = {name for name, rules in ingress.items() for r in rules if {r.get("CidrIp"), r.get("CidrIpv6")} & OPEN}
    assert opened == {"AlbSecurityGroup"}
    assert sorted(r["FromPort"] for r in ingress["AlbSecurityGroup"]) == [80, 443]
    only_from = {
        "AppSecurityGroup": ("AlbSecurityGroup", 80),
        "DatabaseSecurityGroup": ("AppSecurityGroup", 5432),
        "CacheSecurityGroup": ("AppSecurityGroup", 6379),
        "GpuSecurityGroup": ("AppSecurityGroup", 11434),
    }
    assert set(only_from) | {"AlbSecurityGroup"} == set(groups)
    for name, (source, port) in only_from.items():
        (rule,) = ingress[name]
        assert rule["SourceSecurityGroupId"] == {"Ref": source} and rule["FromPort"] == rule["ToPort"] == port, name
    # Nothing public but the load balancer: instances in private subnets, no SSH anywhere.
    text = TEMPLATE.read_text()
    assert "MapPublicIpOnLaunch: true" not in text and "AssociatePublicIpAddress" not in text
    assert not re.search(r"FromPort: 22\b", text) and "KeyName" not in text
    (balancer,) = resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert balancer["Properties"]["Scheme"] == "internet-facing"
    assert all("Public" in s["Ref"] for s in balancer["Properties"]["Subnets"])
    (group,) = resources("AWS::AutoScaling::AutoScalingGroup").values()
    assert all("Private" in s["Ref"] for s in group["Properties"]["VPCZoneIdentifier"])


def test_the_store_is_multi_az_encrypted_private_and_backed_up() -> None:
    (database,) = resources("AWS::RDS::DBInstance").values()
    props = database["Properties"]
    assert props["Engine"] == "postgres"
    assert props["MultiAZ"] is True and props["StorageEncrypted"] is True and props["PubliclyAccessible"] is False
    assert database["DeletionPolicy"] == "Snapshot" and props["DeletionProtection"] is True
    parameters = template()["Parameters"]
    retention = parameters[props["BackupRetentionPeriod"]["Ref"]]
    assert retention["MinValue"] >= 7 and retention["Default"] >= 7
    # pgvector: RDS offers it on PostgreSQL 15.2 and later; these are major versions 16 and 17.
    versions = parameters[props["EngineVersion"]["Ref"]]
    assert all(int(v.split(".")[0]) >= 16 for v in versions["AllowedValues"])
    assert props["MasterUserPassword"]["Fn::Sub"].startswith("{{resolve:secretsmanager:")
    (cache,) = resources("AWS::ElastiCache::ReplicationGroup").values()
    assert cache["Properties"]["AtRestEncryptionEnabled"] is True
    assert cache["Properties"]["TransitEncryptionEnabled"] is True
    assert cache["Properties"]["AuthToken"]["Fn::Sub"].startswith("{{resolve:secretsmanager:")


def test_no_secret_is_a_parameter_or_written_in_the_template() -> None:
    for name, parameter in template()["Parameters"].items():
        assert not re.search(r"password|secret|token|jwt|encryption", name, re.IGNORECASE), name
        assert not (parameter.get("NoEcho") and "Default" in parameter), name
    secrets = resources("AWS::SecretsManager::Secret")
    assert {"JwtSecret", "EncryptionKeySecret", "DatabaseSecret", "CacheSecret"} == set(secrets)
    assert all("GenerateSecretString" in s["Properties"] for s in secrets.values())
    # No SecretString or password written out; the only references are dynamic ones.
    text = re.sub(r"\{\{resolve:secretsmanager:.*?\}\}", "", TEMPLATE.read_text())
    assert not re.search(r"(?<!Generate)SecretString\s*:|Password\s*:\s*['\"]?\w", text)


def test_the_instances_may_read_their_own_secrets_and_source_only() -> None:
    for role in resources("AWS::IAM::Role").values():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in a for a in actions), statement
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert all(t != "*" for t in targets), statement
    (app,) = [r for n, r in resources("AWS::IAM::Role").items() if n == "AppRole"]
    (read,) = [s for p in app["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
               if s["Action"] == "secretsmanager:GetSecretValue"]  # fmt: skip
    assert sorted(r["Ref"] for r in read["Resource"]) == sorted(resources("AWS::SecretsManager::Secret"))
    (launch,) = resources("AWS::EC2::LaunchTemplate").values()
    assert launch["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"


def test_https_with_a_redirect_and_health_checks() -> None:
    listeners = {
        r["Properties"]["Port"]: r["Properties"] for r in resources("AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    (targets,) = resources("AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert targets["Properties"]["HealthCheckPath"] == "/health"
    (group,) = resources("AWS::AutoScaling::AutoScalingGroup").values()
    assert group["Properties"]["HealthCheckType"] == "ELB"
    assert template()["Outputs"]["LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}


def _user_data() -> dict[str, str]:
    """Each boot script, its ${...} substitutions replaced by plain words."""
    (launch,) = resources("AWS::EC2::LaunchTemplate").values()
    scripts = {
        "app": launch["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0],
        "gpu": resources("AWS::EC2::Instance")["GpuInstance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"],
    }
    return {name: re.sub(r"\$\{[A-Za-z0-9:.]+\}", "placeholder", text) for name, text in scripts.items()}


@pytest.mark.parametrize("name", ["app", "gpu"])
def test_boot_scripts_parse_and_pass_shellcheck(name: str, tmp_path: Path) -> None:
    script = tmp_path / f"{name}.sh"
    script.write_text(_user_data()[name])
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    assert shutil.which("shellcheck"), "install Debian's shellcheck (make test does)"
    result = subprocess.run(["shellcheck", "-e", "SC1091", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_boot_scripts_start_the_stack_like_deploy_ec2_with_the_overrides() -> None:
    scripts = _user_data()
    ec2 = (ROOT / "scripts/deploy-ec2.sh").read_text()
    for package in ("docker-ce", "docker-compose-plugin", "docker-buildx-plugin"):
        assert package in ec2 and package in scripts["app"], package
    assert "docker compose -f docker-compose.yml -f deploy/aws/docker-compose.aws.yml up -d --build" in scripts["app"]
    gpu = "docker compose -f docker-compose.yml -f docker-compose.gpu.yml -f deploy/aws/docker-compose.aws-gpu.yml"
    assert gpu in scripts["gpu"]
    # What the app instance writes replaces .env.example's line, never doubles it.
    (dropped,) = re.findall(r"grep -v -E '\^#\? \?\(([A-Z_|]+)\)=' \.env\.example", scripts["app"])
    assert set(dropped.split("|")) == set(re.findall(r'echo "([A-Z_]+)=', scripts["app"]))
    written = set(re.findall(r'echo "([A-Z_]+)=', scripts["app"] + scripts["gpu"]))
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    # REDIS_URL is the setting of issue 17's Redis cache (item 3), documented with it.
    assert written - {"REDIS_URL"} <= documented, written - documented
    for override in ("deploy/aws/docker-compose.aws.yml", "deploy/aws/docker-compose.aws-gpu.yml"):
        result = subprocess.run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / override)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    override = yaml.safe_load((ROOT / "deploy/aws/docker-compose.aws.yml").read_text())["services"]
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    # The local store is left out, and the backend no longer requires it.
    assert override["postgres"]["profiles"] and set(override["postgres"]["profiles"]).isdisjoint(
        {p for s in base.values() for p in s.get("profiles", [])}
    )
    assert override["backend"]["depends_on"]["postgres"]["required"] is False
    assert "postgres" in base["backend"]["depends_on"]
