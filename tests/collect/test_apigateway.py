"""API Gateway: method authorization (CORS preflights), stage throttling and access logs, domain TLS, gaps, paging.

moto answers GetDeployment without `apiSummary` (it ignores `embed=apisummary`), so end-to-end the methods come
from the API definition (`method_source = api definition`); the deployment snapshot path is tested on the
answer AWS documents. moto also ignores `limit`/`position`: paging is tested by splitting its answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from tasks.collect.apigateway import Method, _setting_key, deployed, tls_min_version, unthrottled
from tests.support.evaluate import collect, evaluate, verdicts
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")
LAMBDA = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:predict/invocations"
)
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:api-access"


def _api(
    name: str,
    methods: dict[str, tuple[str, str]],
    region: str = "us-east-1",
    stage: str | None = "prod",
    patches: tuple[tuple[str, str], ...] = (),
) -> str:
    """A REST API with `/predict` methods {VERB: (authorization, integration)}, deployed to `stage`."""
    apigw = boto3.client("apigateway", region_name=region)
    api = apigw.create_rest_api(name=name, tags={"owner": "ml-research"})["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api, parentId=root, pathPart="predict")["id"]
    for verb, (auth, integration) in methods.items():
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod=verb, authorizationType=auth)
        extra = {
            "integrationHttpMethod": "POST",
            "uri": LAMBDA if integration.startswith("AWS") else "https://x.example",
        }
        extra = {} if integration == "MOCK" else extra
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=verb, type=integration, **extra)
    if stage:
        apigw.create_deployment(restApiId=api, stageName=stage)
        if patches:
            operations = [{"op": "replace", "path": path, "value": value} for path, value in patches]
            apigw.update_stage(restApiId=api, stageName=stage, patchOperations=operations)
    return api


def _by_method(**kwargs: Any) -> dict[str, str]:
    return {
        f.resource_name.split(" ", 1)[1]: str(f.status) for f in evaluate("apigateway-method-authorization", **kwargs)
    }


def test_methods_without_authorization_fail_and_cors_preflights_are_exempt() -> None:
    _api(
        "models",
        {
            "POST": ("AWS_IAM", "AWS_PROXY"),
            "GET": ("NONE", "HTTP_PROXY"),
            "PUT": ("COGNITO_USER_POOLS", "HTTP_PROXY"),
            "OPTIONS": ("NONE", "MOCK"),  # what "Enable CORS" creates: no finding
        },
    )
    assert _by_method() == {"POST /predict": "PASS", "GET /predict": "FAIL", "PUT /predict": "PASS"}


def test_an_options_method_reaching_a_backend_is_not_a_preflight() -> None:
    _api("open-options", {"OPTIONS": ("NONE", "HTTP_PROXY"), "ANY": ("NONE", "MOCK")})
    assert _by_method() == {"OPTIONS /predict": "FAIL", "ANY /predict": "FAIL"}
    frame = collect("apigateway_methods").tables["apigateway_methods"].set_index("http_method")
    assert not frame.loc["OPTIONS", "cors_preflight"]
    assert frame.loc["ANY", "method_source"] == "api definition"  # moto: no apiSummary


def test_an_api_key_alone_is_not_authorization() -> None:
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="keyed")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api, parentId=root, pathPart="predict")["id"]
    apigw.put_method(
        restApiId=api, resourceId=resource, httpMethod="POST", authorizationType="NONE", apiKeyRequired=True
    )
    apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="POST", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    (finding,) = evaluate("apigateway-method-authorization")
    assert str(finding.status) == "FAIL" and "api_key_required = True" in finding.observed
    assert finding.resource_arn.startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert finding.resource_arn.endswith("/prod/POST/predict")


class _Deployments:
    """The GetDeployment answer AWS documents for `embed=apisummary` (moto omits apiSummary)."""

    def __init__(self, summary: dict[str, Any] | None) -> None:
        self.summary = summary

    def get_deployment(self, **params: Any) -> dict[str, Any]:
        assert params["embed"] == ["apisummary"]
        return {"id": params["deploymentId"]} | ({} if self.summary is None else {"apiSummary": self.summary})


def test_a_stage_serves_its_deployment_snapshot_not_the_current_definition() -> None:
    fixed = Method("/predict", "POST", "AWS_IAM", False, "AWS_PROXY")  # fixed in the definition, not redeployed
    preflight = Method("/predict", "OPTIONS", "NONE", False, "MOCK")
    defined = {("/predict", "POST"): fixed, ("/predict", "OPTIONS"): preflight}
    snapshot = {
        "/predict": {
            "POST": {"authorizationType": "NONE", "apiKeyRequired": False},
            "OPTIONS": {"authorizationType": "NONE"},
        },
        "/old": {"GET": {"authorizationType": "CUSTOM"}},  # since deleted from the definition
    }
    methods, source = deployed(_Deployments(snapshot), "api", "dep", defined)
    assert source == "deployment"
    assert {(m.path, m.http_method, m.authorization_type, m.integration_type) for m in methods} == {
        ("/predict", "POST", "NONE", "AWS_PROXY"),
        ("/predict", "OPTIONS", "NONE", "MOCK"),
        ("/old", "GET", "CUSTOM", ""),
    }
    assert deployed(_Deployments({}), "api", "dep", defined) == ([], "deployment")  # an empty deployment
    assert deployed(_Deployments(None), "api", "dep", defined) == (list(defined.values()), "api definition")


@pytest.mark.parametrize(
    ("patches", "expected", "unthrottled_count"),
    [
        ((), "FAIL", 1),  # no method settings: only the account-wide quota
        ((("/*/*/throttling/rateLimit", "100"), ("/*/*/throttling/burstLimit", "50")), "PASS", 0),
        ((("/*/*/throttling/rateLimit", "-1"), ("/*/*/throttling/burstLimit", "-1")), "FAIL", 1),  # -1: off
        ((("/*/*/throttling/rateLimit", "0"), ("/*/*/throttling/burstLimit", "0")), "PASS", 0),  # 0: blocks all
        ((("/~1predict/POST/throttling/rateLimit", "10"), ("/~1predict/POST/throttling/burstLimit", "5")), "PASS", 0),
    ],
)
def test_stage_throttling_edges(patches: tuple, expected: str, unthrottled_count: int) -> None:
    _api("throttled", {"POST": ("AWS_IAM", "AWS_PROXY")}, patches=patches)
    (finding,) = evaluate("apigateway-stage-throttling")
    assert (str(finding.status), f"unthrottled_methods = {unthrottled_count}" in finding.observed) == (expected, True)


def test_a_method_override_does_not_throttle_the_other_methods() -> None:
    settings = {"~1predict/POST": {"throttlingRateLimit": 10.0, "throttlingBurstLimit": 5}}
    post = Method("/predict", "POST", "AWS_IAM", False, "AWS_PROXY")
    get = Method("/predict", "GET", "AWS_IAM", False, "AWS_PROXY")
    assert unthrottled(settings, [post, get]) == [get]
    default = {"*/*": {"throttlingRateLimit": 10.0, "throttlingBurstLimit": 5}}
    off = {**default, "predict/GET": {"throttlingRateLimit": -1.0, "throttlingBurstLimit": -1}}
    assert unthrottled(off, [post, get]) == [get]  # its own setting turns the default off for that method
    assert unthrottled({"*/*": {"throttlingRateLimit": 10.0}}, [post]) == [post]  # a burst limit is needed too


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("*/*", ("*", "*")),
        ("~1predict/POST", ("/predict", "POST")),
        ("predict/GET", ("/predict", "GET")),
        ("~1models~1{id}/ANY", ("/models/{id}", "ANY")),
        ("~1/GET", ("/", "GET")),
    ],
)
def test_method_settings_keys(key: str, expected: tuple[str, str]) -> None:
    assert _setting_key(key) == expected


def test_access_logging_on_and_off() -> None:
    _api("logged", {"POST": ("AWS_IAM", "AWS_PROXY")}, patches=(("/accessLogSettings/destinationArn", LOG_GROUP),))
    _api("silent", {"POST": ("AWS_IAM", "AWS_PROXY")})
    assert verdicts("apigateway-stage-access-logging") == {"logged/prod": "PASS", "silent/prod": "FAIL"}


def test_an_api_never_deployed_has_no_stage_and_no_finding() -> None:
    _api("draft", {"POST": ("NONE", "HTTP_PROXY")}, stage=None)
    assert evaluate("apigateway-method-authorization") == []
    assert evaluate("apigateway-stage-throttling") == []


@pytest.mark.parametrize(
    ("policy", "version"),
    [
        ("TLS_1_0", 1.0),
        ("TLS_1_2", 1.2),
        ("SecurityPolicy_TLS13_1_3_2025_09", 1.3),
        ("SecurityPolicy_TLS13_1_3_FIPS_2025_09", 1.3),
        ("SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", 1.2),
        ("SecurityPolicy_TLS13_1_2_2021_06", 1.2),
        ("SecurityPolicy_TLS13_2025_EDGE", 1.3),
        ("SecurityPolicy_TLS12_PFS_2025_EDGE", 1.2),
        ("SecurityPolicy_TLS12_2018_EDGE", 1.2),
        ("TLS_1_3_SOMETHING_NEW", None),
        ("", None),
    ],
)
def test_tls_policy_names(policy: str, version: float | None) -> None:
    assert tls_min_version(policy) == version


def test_domain_tls_pass_fail_and_unknown_policy_is_an_error() -> None:
    apigw = boto3.client("apigateway")
    apigw.create_domain_name(domainName="legacy.example.com", securityPolicy="TLS_1_0")
    apigw.create_domain_name(domainName="api.example.com", securityPolicy="TLS_1_2")
    apigw.create_domain_name(domainName="unset.example.com")  # moto leaves securityPolicy out of the answer
    assert verdicts("apigateway-domain-tls12") == {
        "legacy.example.com": "FAIL",
        "api.example.com": "PASS",
        "unset.example.com": "ERROR",
    }


def test_denied_stage_listing_is_an_error_for_that_api_on_stage_and_method_controls() -> None:
    api = _api("hidden", {"POST": ("AWS_IAM", "AWS_PROXY")})
    with denied("GetStages"):
        result = collect("apigateway_stages")
    for control in (
        "apigateway-stage-throttling",
        "apigateway-stage-access-logging",
        "apigateway-method-authorization",
    ):
        (finding,) = evaluate(control, result=result)
        assert str(finding.status) == "ERROR" and finding.resource_id.endswith(f"/restapis/{api}"), control


def test_denied_resources_leave_throttling_unknown_but_access_logging_decided() -> None:
    _api("partial", {"POST": ("AWS_IAM", "AWS_PROXY")}, patches=(("/accessLogSettings/destinationArn", LOG_GROUP),))
    with denied("GetResources"):
        result = collect("apigateway_stages")
    assert verdicts("apigateway-stage-access-logging", result=result) == {"partial/prod": "PASS"}
    assert verdicts("apigateway-stage-throttling", result=result) == {"partial/prod": "ERROR"}
    assert {str(f.status) for f in evaluate("apigateway-method-authorization", result=result)} == {"ERROR"}


def test_denied_deployment_read_is_an_error_for_that_stage_methods() -> None:
    _api("snap", {"POST": ("AWS_IAM", "AWS_PROXY")})
    with denied("GetDeployment"):
        result = collect("apigateway_methods")
    (finding,) = evaluate("apigateway-method-authorization", result=result)
    assert str(finding.status) == "ERROR" and finding.resource_id.endswith("/stages/prod")


def test_denied_domain_listing_is_an_error_for_domains_only_and_per_region() -> None:
    boto3.client("apigateway", region_name="eu-west-1").create_domain_name(
        domainName="eu.example.com", securityPolicy="TLS_1_2"
    )
    _api("eu", {"POST": ("NONE", "HTTP_PROXY")}, region="eu-west-1")
    regions = ("us-east-1", "eu-west-1")
    with denied("GetDomainNames", "eu-west-1"):
        result = collect("apigateway_domains", regions=regions)
    (gap,) = evaluate("apigateway-domain-tls12", result=result)
    assert (str(gap.status), gap.region) == ("ERROR", "eu-west-1")
    assert verdicts("apigateway-method-authorization", result=result) == {"eu/prod POST /predict": "FAIL"}


def test_denied_api_listing_is_a_scope_error_and_a_region_without_apis_has_no_finding() -> None:
    _api("east", {"POST": ("AWS_IAM", "AWS_PROXY")})
    regions = ("us-east-1", "eu-west-1", "ap-south-1")
    with denied("GetRestApis", "eu-west-1"):
        result = collect("apigateway_methods", regions=regions)
    found = {(f.region, str(f.status)) for f in evaluate("apigateway-method-authorization", result=result)}
    assert found == {("us-east-1", "PASS"), ("eu-west-1", "ERROR")}  # ap-south-1: no API, nothing to judge


@contextmanager
def paged(operation: str) -> Iterator[list[str | None]]:
    """Answer `operation` one item a page with a `position` token, as AWS pages (moto returns everything)."""
    import botocore.handlers

    positions: list[str | None] = []

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["position"] = params["query_string"].get("position")
        positions.append(context["position"])

    def page(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        start = int(context.get("position") or 0)
        items = parsed.get("items", [])
        parsed["items"] = items[start : start + 1]
        if start + 1 < len(items):
            parsed["position"] = str(start + 1)

    entries = [(f"before-call.api-gateway.{operation}", remember), (f"after-call.api-gateway.{operation}", page)]
    botocore.handlers.BUILTIN_HANDLERS.extend(entries)
    try:
        yield positions
    finally:
        for entry in entries:
            botocore.handlers.BUILTIN_HANDLERS.remove(entry)


@pytest.mark.parametrize("operation", ["GetRestApis", "GetResources", "GetDomainNames"])
def test_every_listing_follows_its_pages(operation: str) -> None:
    for name in ("a", "b", "c"):
        _api(name, {"POST": ("NONE", "HTTP_PROXY"), "GET": ("AWS_IAM", "AWS_PROXY")})
        boto3.client("apigateway").create_domain_name(domainName=f"{name}.example.com", securityPolicy="TLS_1_2")
    with paged(operation) as positions:
        result = collect("apigateway_methods")
    listings = 3 if operation == "GetResources" else 1  # one per API, or one per region
    assert positions.count(None) == listings and "1" in positions
    assert len(positions) == (6 if operation == "GetResources" else 3)
    assert len(result.tables["apigateway_methods"]) == 6
    assert len(result.tables["apigateway_domains"]) == 3


@contextmanager
def methods_not_embedded() -> Iterator[None]:
    """GetResources as answered without `embed=methods`: each method is only a name (`{"GET": {}}`)."""
    import botocore.handlers

    def strip(parsed: dict[str, Any], **_: Any) -> None:
        for item in parsed.get("items", []):
            if "resourceMethods" in item:
                item["resourceMethods"] = dict.fromkeys(item["resourceMethods"], {})

    entry = ("after-call.api-gateway.GetResources", strip)
    botocore.handlers.BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)


def test_methods_not_embedded_are_read_one_by_one() -> None:
    from tests.support.api_calls import recorded_calls

    _api("bare", {"POST": ("AWS_IAM", "AWS_PROXY"), "OPTIONS": ("NONE", "MOCK")})
    with methods_not_embedded(), recorded_calls() as calls:
        result = collect("apigateway_methods")
    assert sum(1 for _, operation, _ in calls if operation == "GetMethod") == 2
    assert verdicts("apigateway-method-authorization", result=result) == {"bare/prod POST /predict": "PASS"}
    with methods_not_embedded(), denied("GetMethod"):
        result = collect("apigateway_methods")
    assert {str(f.status) for f in evaluate("apigateway-method-authorization", result=result)} == {"ERROR"}
    assert verdicts("apigateway-stage-throttling", result=result) == {"bare/prod": "ERROR"}
    assert verdicts("apigateway-stage-access-logging", result=result) == {"bare/prod": "FAIL"}


def test_a_canary_deployment_adds_what_it_serves_and_the_weaker_side_decides() -> None:
    from tasks.collect.apigateway import served

    class Deployments:
        summaries = {
            "main": {"/predict": {"POST": {"authorizationType": "AWS_IAM"}}},
            "canary": {
                "/predict": {"POST": {"authorizationType": "NONE"}},
                "/beta": {"GET": {"authorizationType": "CUSTOM"}},
            },
        }

        def get_deployment(self, **params: Any) -> dict[str, Any]:
            return {"apiSummary": self.summaries[params["deploymentId"]]}

    stage = {"deploymentId": "main", "canarySettings": {"deploymentId": "canary", "percentTraffic": 10.0}}
    methods, source = served(Deployments(), "api", stage, {})
    assert {(m.path, m.http_method, m.authorization_type) for m in methods} == {
        ("/predict", "POST", "NONE"),
        ("/beta", "GET", "CUSTOM"),
    }
    assert source == "deployment"
    assert len(served(Deployments(), "api", {"deploymentId": "main"}, {})[0]) == 1


def test_a_region_whose_endpoint_cannot_be_reached_is_an_error_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.client import BaseClient
    from botocore.exceptions import EndpointConnectionError

    original = BaseClient._make_api_call

    def unreachable(self: BaseClient, name: str, params: dict) -> Any:
        if self.meta.service_model.service_name == "apigateway" and self.meta.region_name == "ap-south-1":
            raise EndpointConnectionError(endpoint_url="https://apigateway.ap-south-1.amazonaws.com")
        return original(self, name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", unreachable)
    _api("east", {"POST": ("AWS_IAM", "AWS_PROXY")})
    result = collect("apigateway_domains", regions=("us-east-1", "ap-south-1"))
    for control in ("apigateway-domain-tls12", "apigateway-stage-access-logging", "apigateway-method-authorization"):
        found = {(f.region, str(f.status)) for f in evaluate(control, result=result)}
        assert ("ap-south-1", "ERROR") in found and not {s for r, s in found if r == "ap-south-1"} - {"ERROR"}, control
