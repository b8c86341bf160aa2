"""Which SageMaker ML instance types keep their storage on hardware-encrypted local NVMe disks.

SageMaker refuses a KMS key for the storage of instance types with local (instance store) storage, both
a training job's `VolumeKmsKeyId` and an endpoint configuration's `KmsKeyId`: those disks are encrypted
by the Nitro hardware (AES-256) and no key can be named. Whether a type has such disks is EC2's answer
for the type underneath (`ml.g5.xlarge` -> `g5.xlarge`, DescribeInstanceTypes: instance storage whose
encryption is `required`), asked once per type. A type EC2 does not know (a SageMaker-only family) is
read as EBS-backed; any other failure is returned, so the caller records a gap for the resources it
leaves undecided.
"""

from __future__ import annotations

from collections.abc import Iterable

from tasks.aws import AWS_ERRORS, error_code
from tasks.collect.base import CollectContext

ML_PREFIX = "ml."
UNKNOWN_TYPE = "InvalidInstanceType"
HARDWARE_ENCRYPTED = "required"


def hardware_encrypted_storage(ctx: CollectContext, ml_types: Iterable[str]) -> dict[str, bool | Exception]:
    """ML instance type -> its storage is hardware-encrypted local disks (or the failure that hid the answer).

    One call per type: a batch is refused whole when one of its types is unknown to EC2.
    """
    ec2 = ctx.client("ec2")
    found: dict[str, bool | Exception] = {}
    for ml_type in sorted(set(ml_types)):
        try:
            answer = ec2.describe_instance_types(InstanceTypes=[ml_type.removeprefix(ML_PREFIX)])["InstanceTypes"]
        except AWS_ERRORS as exc:
            found[ml_type] = False if error_code(exc) == UNKNOWN_TYPE else exc
            continue
        info = (answer[0].get("InstanceStorageInfo") or {}) if answer else {}
        supported = bool(answer) and bool(answer[0].get("InstanceStorageSupported"))
        found[ml_type] = supported and info.get("EncryptionSupport") == HARDWARE_ENCRYPTED
    return found


def any_hardware_encrypted(types: Iterable[str], storage: dict[str, bool | Exception]) -> bool | Exception:
    """A type among `types` has hardware-encrypted local disks (so no key may be named); a failure when unknown.

    SageMaker refuses the key as soon as one instance type of the job or endpoint has local storage.
    """
    answers = [storage.get(ml_type, False) for ml_type in types]
    if any(a is True for a in answers):
        return True
    return next((a for a in answers if isinstance(a, Exception)), False)
