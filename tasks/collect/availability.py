"""Whether a region offers a service at all, told apart from a call that failed there.

AWS launches services region by region (Bedrock is in fewer regions than SageMaker, SageMaker in fewer
than S3). In a region without the service there is no endpoint: the call fails with
EndpointConnectionError, which is also what a network fault looks like. Such a failure is read as "the
service is not offered here" only when botocore's endpoint data agrees that the region lacks the
service; any other failure stays an evidence gap (ERROR). If botocore's data is older than the service's
launch in a region, the call there simply succeeds and is used.
"""

from __future__ import annotations

from botocore.exceptions import EndpointConnectionError

from tasks.collect.base import CollectContext


def region_lacks_service(ctx: CollectContext, service: str, exc: Exception) -> bool:
    """True when `exc` is the missing endpoint of a service botocore does not list in `ctx.region`."""
    if not isinstance(exc, EndpointConnectionError):
        return False
    offered = ctx.account.session.get_available_regions(service, ctx.partition)
    return ctx.region not in offered
