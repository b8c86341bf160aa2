"""API Gateway REST APIs: who may call each deployed method, rate limits and access logs per stage, domain TLS.

A stage serves the snapshot of its deployment, not the API's current definition: a method fixed but not
redeployed is still open. So each stage's methods come from its deployment (GetDeployment with
`embed=apisummary`: path -> method -> authorizationType); the definition (GetResources with
`embed=methods`, one paginated call per API) adds what the snapshot lacks, the integration type. An
answer without `apiSummary` falls back to the definition, and `method_source` says which one was read.
A stage with a canary also serves the canary's deployment: its methods are added, the weaker side deciding.

CORS preflight: browsers send `OPTIONS` without credentials, so an authorizer on a preflight breaks CORS
(AWS's "Enable CORS" creates an `OPTIONS` method with authorization NONE and a MOCK integration). An
`OPTIONS` method with a MOCK integration is therefore marked `cors_preflight` and the authorizer control
skips it; an `OPTIONS` method that reaches a backend (Lambda, HTTP) is judged like any other method.

Throttling counts the stage's method settings only: usage-plan limits bind callers with an API key and
WAF rate rules sit outside API Gateway, so neither makes an unthrottled method safe for anonymous callers.

Only REST APIs (API Gateway v1); HTTP and WebSocket APIs (apigatewayv2) are not collected here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import AWS_ERRORS, paginate
from tasks.collect.base import CollectContext, Collector
from tasks.collect.parallel import map_bounded

STAGES = "apigateway_stages"
METHODS = "apigateway_methods"
DOMAINS = "apigateway_domains"
PAGE = {"PageSize": 500}  # the most API Gateway returns per page
PREFLIGHT = "OPTIONS"
WILDCARD = "*/*"
#: Stage columns that need the stage's methods; the method rows of a failed read are not there at all.
BY_METHOD = ("throttling_set", "unthrottled_methods")


@dataclass(frozen=True, slots=True)
class Method:
    """One method as a stage serves it."""

    path: str
    http_method: str
    authorization_type: str
    api_key_required: bool
    integration_type: str  # "" when the definition no longer has the method


def api_arn(ctx: CollectContext, api_id: str) -> str:
    return f"arn:{ctx.partition}:apigateway:{ctx.region}::/restapis/{api_id}"


def method_arn(ctx: CollectContext, api_id: str, stage: str, method: Method) -> str:
    """The execute-api ARN of a stage method, as IAM policies name it (`…:api/stage/VERB/path`)."""
    prefix = f"arn:{ctx.partition}:execute-api:{ctx.region}:{ctx.account_id}"
    return f"{prefix}:{api_id}/{stage}/{method.http_method}{method.path}"


def definition(apigw: Any, api_id: str) -> dict[tuple[str, str], Method]:
    """(path, VERB) -> method of the API's current definition; GetMethod where `embed` was not honoured."""
    methods: dict[tuple[str, str], Method] = {}
    for resource in paginate(
        apigw, "get_resources", "items", restApiId=api_id, embed=["methods"], PaginationConfig=PAGE
    ):
        for verb, embedded in (resource.get("resourceMethods") or {}).items():
            found = embedded or {}
            if "authorizationType" not in found:
                found = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
            methods[(resource["path"], verb)] = Method(
                path=resource["path"],
                http_method=verb,
                authorization_type=str(found.get("authorizationType") or "NONE"),
                api_key_required=bool(found.get("apiKeyRequired")),
                integration_type=str((found.get("methodIntegration") or {}).get("type") or ""),
            )
    return methods


def deployed(
    apigw: Any, api_id: str, deployment_id: str, defined: dict[tuple[str, str], Method]
) -> tuple[list[Method], str]:
    """The methods a deployment serves and where they were read: its API summary, else the definition."""
    answer = apigw.get_deployment(restApiId=api_id, deploymentId=deployment_id, embed=["apisummary"])
    summary = answer.get("apiSummary")
    if summary is None:
        return list(defined.values()), "api definition"
    methods = []
    for path, verbs in summary.items():
        for verb, snapshot in (verbs or {}).items():
            current = defined.get((path, verb))
            methods.append(
                Method(
                    path=path,
                    http_method=verb,
                    authorization_type=str((snapshot or {}).get("authorizationType") or "NONE"),
                    api_key_required=bool((snapshot or {}).get("apiKeyRequired")),
                    integration_type=current.integration_type if current else "",
                )
            )
    return methods, "deployment"


def served(
    apigw: Any, api_id: str, stage: dict[str, Any], defined: dict[tuple[str, str], Method]
) -> tuple[list[Method], str]:
    """The methods a stage serves: its deployment's, plus its canary deployment's when a canary takes traffic.

    A method both serve is judged on the weaker side (authorization NONE in either is NONE).
    """
    methods, source = deployed(apigw, api_id, stage["deploymentId"], defined)
    canary = (stage.get("canarySettings") or {}).get("deploymentId")
    if not canary or canary == stage["deploymentId"]:
        return methods, source
    extra, canary_source = deployed(apigw, api_id, canary, defined)
    merged: dict[tuple[str, str], Method] = {}
    for method in (*methods, *extra):
        key = (method.path, method.http_method)
        if key not in merged or method.authorization_type == "NONE":
            merged[key] = method
    return list(merged.values()), source if source == canary_source else f"{source}, canary: {canary_source}"


def _setting_key(key: str) -> tuple[str, str]:
    """A methodSettings key (`*/*`, `~1pets~1{id}/GET`, `pets/GET`) as (path, VERB); `~1` escapes `/`."""
    resource, _, verb = key.rpartition("/")
    if resource == "*":
        return "*", verb
    path = resource.replace("~1", "/")
    return (path if path.startswith("/") else f"/{path}"), verb


def _throttles(setting: dict[str, Any] | None) -> bool:
    """Both limits set and not negative (-1 is API Gateway's "throttling off")."""
    if not setting:
        return False
    rate, burst = setting.get("throttlingRateLimit"), setting.get("throttlingBurstLimit")
    return rate is not None and burst is not None and float(rate) >= 0 and float(burst) >= 0


def unthrottled(settings: dict[str, Any], methods: list[Method]) -> list[Method]:
    """Methods without an effective limit: their own setting if any, else the stage default (`*/*`)."""
    by_key = {_setting_key(key): value for key, value in (settings or {}).items()}
    default = by_key.get(("*", "*"))
    return [m for m in methods if not _throttles(by_key.get((m.path, m.http_method), default))]


_VERSION = re.compile(r"^TLS_(\d)_(\d)$")
_POLICY = re.compile(r"^SecurityPolicy_TLS1(\d)(?:_(\d)_(\d))?_")


def tls_min_version(policy: str) -> float | None:
    """The lowest TLS version a security policy accepts; None when the name is not one we know.

    `TLS_1_0`, `TLS_1_2`; enhanced policies `SecurityPolicy_TLS13_1_2_…` (TLS 1.3 and 1.2: minimum 1.2),
    `SecurityPolicy_TLS13_1_3_…` (1.3 only), `SecurityPolicy_TLS12_…_EDGE` (1.2), `SecurityPolicy_TLS13_…_EDGE` (1.3).
    """
    if match := _VERSION.match(policy):
        return float(f"{match[1]}.{match[2]}")
    if match := _POLICY.match(policy):
        return float(f"{match[2]}.{match[3]}") if match[2] else float(f"1.{match[1]}")
    return None


def _throttling_set(
    default: dict[str, Any] | None, methods: list[Method] | None, open_methods: list[Method] | None
) -> bool | None:
    """Every deployed method limited; methods unknown: a stage default decides yes, else not known (None)."""
    if methods is None or open_methods is None:
        return True if _throttles(default) else None
    if not methods:
        return _throttles(default)
    return not open_methods


def _api(ctx: CollectContext, apigw: Any, api: dict[str, Any]) -> None:
    """Stages and stage methods of one REST API (rows and gaps go to `ctx`); runs in a worker thread."""
    api_id, arn = api["id"], api_arn(ctx, api["id"])
    endpoint = ",".join((api.get("endpointConfiguration") or {}).get("types") or [])
    try:
        stages = apigw.get_stages(restApiId=api_id).get("item") or []
    except AWS_ERRORS as exc:
        ctx.gap("GetStages", exc, resource_id=arn, tables=(STAGES, METHODS))
        return
    defined: dict[tuple[str, str], Method] | None = None
    failed: Exception | None = None
    try:
        defined = definition(apigw, api_id)
    except AWS_ERRORS as exc:  # GetResources, or the GetMethod it needed
        ctx.gap(getattr(exc, "operation_name", None) or "GetResources", exc, resource_id=arn, tables=(METHODS,))
        failed = exc
    for stage in stages:
        name = stage["stageName"]
        stage_arn = f"{arn}/stages/{name}"
        tags = {**(api.get("tags") or {}), **(stage.get("tags") or {})}
        methods: list[Method] | None = None
        source = ""
        if defined is None:  # the stage's throttling cannot be judged method by method either
            ctx.gap(
                getattr(failed, "operation_name", None) or "GetResources",
                failed,
                resource_id=stage_arn,
                tables=(STAGES,),
            )
        else:
            try:
                methods, source = served(apigw, api_id, stage, defined)
            except AWS_ERRORS as exc:
                ctx.gap("GetDeployment", exc, resource_id=stage_arn, tables=(STAGES, METHODS))
        settings = stage.get("methodSettings") or {}
        default = settings.get(WILDCARD)
        open_methods = unthrottled(settings, methods) if methods is not None else None
        logs = (stage.get("accessLogSettings") or {}).get("destinationArn") or ""
        ctx.add(
            STAGES,
            resource_arn=stage_arn,
            resource_type="AwsApiGatewayStage",
            resource_name=f"{api.get('name', api_id)}/{name}",
            tags=tags,
            api_id=api_id,
            endpoint_type=endpoint,
            throttling_set=_throttling_set(default, methods, open_methods),
            throttling_rate_limit=float(default["throttlingRateLimit"]) if _throttles(default) else None,
            throttling_burst_limit=int(default["throttlingBurstLimit"]) if _throttles(default) else None,
            unthrottled_methods=len(open_methods) if open_methods is not None else None,
            access_logging=bool(logs),
            access_log_destination=logs,
        )
        for method in methods or []:
            target = method_arn(ctx, api_id, name, method)
            ctx.add(
                METHODS,
                resource_arn=target,
                resource_type="AwsApiGatewayMethod",
                resource_name=f"{api.get('name', api_id)}/{name} {method.http_method} {method.path}",
                tags=tags,
                api_id=api_id,
                stage=name,
                endpoint_type=endpoint,
                http_method=method.http_method,
                path=method.path,
                authorization_type=method.authorization_type,
                authorized=method.authorization_type != "NONE",
                api_key_required=method.api_key_required,
                integration_type=method.integration_type,
                cors_preflight=method.http_method == PREFLIGHT and method.integration_type == "MOCK",
                method_source=source,
            )


def _domains(ctx: CollectContext, apigw: Any) -> None:
    try:
        domains = paginate(apigw, "get_domain_names", "items", PaginationConfig=PAGE)
    except AWS_ERRORS as exc:
        ctx.gap("GetDomainNames", exc, tables=(DOMAINS,))
        return
    for domain in domains:
        name = domain["domainName"]
        policy = str(domain.get("securityPolicy") or "")
        ctx.add(
            DOMAINS,
            resource_arn=domain.get("domainNameArn")
            or f"arn:{ctx.partition}:apigateway:{ctx.region}::/domainnames/{name}",
            resource_type="AwsApiGatewayDomainName",
            resource_name=name,
            tags=domain.get("tags") or {},
            endpoint_type=",".join((domain.get("endpointConfiguration") or {}).get("types") or []),
            security_policy=policy,
            # an unknown or missing policy name is not known to be safe: null, so the control says ERROR
            tls_min_version=tls_min_version(policy),
        )


def collect_apigateway(ctx: CollectContext) -> None:
    apigw = ctx.client()
    _domains(ctx, apigw)
    try:
        apis = paginate(apigw, "get_rest_apis", "items", PaginationConfig=PAGE)
    except AWS_ERRORS as exc:
        ctx.gap("GetRestApis", exc, tables=(STAGES, METHODS))
        return
    map_bounded(lambda api: _api(ctx, apigw, api), apis)


COLLECTOR = Collector(
    name="apigateway",
    service="apigateway",
    scope="regional",
    declares=(
        TableSpec(
            STAGES,
            "One row per stage of each REST API in the region.",
            (
                Column("api_id", "string", "the REST API's id"),
                Column("endpoint_type", "string", "EDGE, REGIONAL or PRIVATE"),
                Column(
                    "throttling_set", "boolean", "every deployed method has a rate and burst limit (its own or */*)"
                ),
                Column("throttling_rate_limit", "number", "the stage default (*/*) rate limit; null: none set"),
                Column("throttling_burst_limit", "integer", "the stage default (*/*) burst limit; null: none set"),
                Column("unthrottled_methods", "integer", "deployed methods without any limit"),
                Column("access_logging", "boolean", "access logs go to a destination (accessLogSettings)"),
                Column("access_log_destination", "string", "the log group or Firehose ARN; empty: off"),
            ),
        ),
        TableSpec(
            METHODS,
            "One row per method a REST API stage serves (its deployment's snapshot).",
            (
                Column("api_id", "string", "the REST API's id"),
                Column("stage", "string", "the stage name"),
                Column("endpoint_type", "string", "EDGE, REGIONAL or PRIVATE"),
                Column("http_method", "string", "GET, POST, ANY, OPTIONS, …"),
                Column("path", "string", "the resource path, e.g. /models/{id}"),
                Column("authorization_type", "string", "NONE, AWS_IAM, CUSTOM or COGNITO_USER_POOLS"),
                Column("authorized", "boolean", "authorization_type is not NONE"),
                Column("api_key_required", "boolean", "callers must send an API key (not an authorizer)"),
                Column(
                    "integration_type", "string", "MOCK, AWS, AWS_PROXY, HTTP, HTTP_PROXY; empty: not in the definition"
                ),
                Column(
                    "cors_preflight", "boolean", "an OPTIONS method answered by a MOCK integration (CORS preflight)"
                ),
                Column("method_source", "string", "deployment (the stage's snapshot) or api definition"),
            ),
        ),
        TableSpec(
            DOMAINS,
            "One row per API Gateway custom domain name in the region.",
            (
                Column("endpoint_type", "string", "EDGE, REGIONAL or PRIVATE"),
                Column("security_policy", "string", "TLS_1_0, TLS_1_2 or a SecurityPolicy_TLS1x_… name"),
                Column("tls_min_version", "number", "the lowest TLS version the policy accepts; null: unknown policy"),
            ),
        ),
    ),
    calls=(
        call("apigateway", "GetRestApis", action="apigateway:GET"),
        call("apigateway", "GetStages", action="apigateway:GET"),
        call("apigateway", "GetResources", *BY_METHOD, action="apigateway:GET"),
        call(
            "apigateway", "GetMethod", *BY_METHOD, when="GetResources did not embed a method", action="apigateway:GET"
        ),
        call("apigateway", "GetDeployment", *BY_METHOD, action="apigateway:GET"),
        call("apigateway", "GetDomainNames", action="apigateway:GET"),
    ),
    collect=collect_apigateway,
    description="API Gateway REST API stages (throttling, access logs), deployed methods (authorization), domain TLS",
)
