"""IAM policy documents read with AWS's own semantics, for the two questions the collectors ask of them.

An access review asks "does this identity policy grant full admin?" and an encryption-in-transit review
asks "does this bucket policy refuse every request made without TLS?". Both answers go into evidence, so
both follow the IAM JSON policy reference rather than matching the one spelling a console happens to
produce. The rules shared by both:

- `Effect` is case-sensitive: only "Allow" and "Deny" exist, and a statement with "allow" grants nothing.
- Action names are case-insensitive ("IAM:listaccesskeys" is "iam:ListAccessKeys"); resource ARNs are not.
- `*` (any run of characters, possibly empty) and `?` (one character) are wildcards in actions and
  resources.
- Condition context-key names are case-insensitive ("aws:securetransport" is "aws:SecureTransport").
- A single value and a list of values mean the same thing in every element.

Wildcard coverage is decided soundly: a pattern is said to cover a set of actions or resources only when
it matches every member. A few exotic spellings that also cover (such as `s3:?*`) are not recognised;
those give a finding to look at, never a pass that should not be one.

Stdlib only, no AWS calls: the collectors fetch the documents and these functions judge them.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

Statement = dict[str, Any]

_LIST_ELEMENTS = ("Action", "NotAction", "Resource", "NotResource")
_ALL_ACTIONS = re.compile(r"\*+(:\*+)?")  # "*", "*:*": every action of every service
_ALL_RESOURCES = re.compile(r"\*+")
_TLS_OPERATORS = ("Bool", "BoolIfExists")  # condition operator names are matched exactly, as AWS spells them
_SECURE_TRANSPORT = "aws:securetransport"  # key names compared lower-cased


# --- parsing -------------------------------------------------------------------------------------------


def statements(document: Any) -> list[Statement]:
    """The statements of a policy document given as a dict, a JSON string or a URL-encoded JSON string.

    GetAccountAuthorizationDetails returns documents URL-encoded (RFC 3986); botocore decodes them into
    dicts, but leaves the string as it was when decoding fails, so both forms reach the collectors.
    `Statement` may be one statement or a list. A document whose shape AWS would reject raises
    ValueError naming what is wrong; meaning (for instance Action and NotAction together) is not checked.
    """
    parsed = _parse(document)
    if not isinstance(parsed, dict):
        raise ValueError(f"policy document must be a JSON object, not {type(parsed).__name__}")
    if "Statement" not in parsed:
        raise ValueError("policy document has no Statement element")
    raw = parsed["Statement"]
    found = [raw] if isinstance(raw, dict) else raw
    if not isinstance(found, list):
        raise ValueError(f"Statement must be an object or a list of objects, not {type(raw).__name__}")
    for index, statement in enumerate(found):
        _check_statement(index, statement)
    return found


def _parse(document: Any) -> Any:
    if isinstance(document, dict):
        return document
    if isinstance(document, bytes):
        document = document.decode("utf-8")
    if not isinstance(document, str):
        raise ValueError(f"policy document must be a dict or a JSON string, not {type(document).__name__}")
    text = document.strip()
    # Plain JSON first: unquoting it would corrupt a literal "%" inside, such as a key name "100%25".
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(unquote(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"policy document is neither JSON nor URL-encoded JSON: {exc}") from exc


def _check_statement(index: int, statement: Any) -> None:
    where = f"Statement[{index}]"
    if not isinstance(statement, dict):
        raise ValueError(f"{where} must be an object, not {type(statement).__name__}")
    for element in _LIST_ELEMENTS:
        if element in statement:
            _strings(statement[element], f"{where}.{element}")
    for element in ("Principal", "NotPrincipal"):
        principal = statement.get(element)
        if isinstance(principal, dict):
            for kind, value in principal.items():
                _strings(value, f"{where}.{element}.{kind}")
        elif principal is not None and not isinstance(principal, str):
            raise ValueError(f'{where}.{element} must be "*" or an object')
    condition = statement.get("Condition")
    if condition is not None and not (
        isinstance(condition, dict) and all(isinstance(block, dict) for block in condition.values())
    ):
        raise ValueError(f"{where}.Condition must map operators to objects of keys and values")


def _strings(value: Any, where: str) -> list[str]:
    """A string-or-list element as a list; anything else is a malformed document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError(f"{where} must be a string or a list of strings")


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- wildcard matching ---------------------------------------------------------------------------------


def _glob(pattern: str, text: str) -> bool:
    """IAM wildcard matching: `*` any run of characters, `?` exactly one, everything else literal."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _covers_prefix(pattern: str, prefix: str) -> bool:
    """True when `pattern` matches every string that starts with `prefix` ("s3:" → every S3 action).

    That holds when the pattern ends in `*` and what comes before that `*` matches some leading part of
    the prefix: the trailing `*` then absorbs the rest, whatever follows.
    """
    head = pattern.rstrip("*")
    if head == pattern:
        return False
    return any(_glob(head, prefix[:end]) for end in range(len(prefix) + 1))


# --- full admin ----------------------------------------------------------------------------------------


def grants_full_admin(document: Any) -> bool:
    """True when the identity policy allows every action on every resource: `*:*` administrator.

    An Allow statement counts when its actions and its resources each cover everything:

    - `Action` holds "*" or "*:*" (or several stars), as a string or inside a list;
    - `NotAction` with any list that is not itself "*": the statement allows everything except a listed
      set, which an auditor treats as admin (PowerUserAccess's shape, NotAction iam/organizations/account,
      counts; whoever holds it can reach nearly every service and data store);
    - `Resource` holds "*", or `NotResource` lists anything that is not "*" (all but a few ARNs).

    A `Condition` does not stop a statement counting: MFA-present, source-IP or time-of-day conditions
    limit *when* the privilege can be used, not *what* it reaches, and CIS's `*:*` check ignores them too.

    An explicit deny wins in AWS, so a Deny statement in the same document that covers every action on
    every resource without a Condition cancels the grant. Partial denies (Deny iam:*, a conditional
    Deny) and denies from other policies, boundaries or SCPs are not modelled: the document still counts.
    A resource pattern such as "arn:*" is not read as "every resource".
    """
    found = statements(document)
    if any(_denies_everything(statement) for statement in found):
        return False
    return any(_allows_everything(statement) for statement in found)


def _allows_everything(statement: Statement) -> bool:
    return statement.get("Effect") == "Allow" and _every_action(statement) and _every_resource(statement)


def _denies_everything(statement: Statement) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and not statement.get("Condition")
        and _every_action(statement)
        and _every_resource(statement)
    )


def _every_action(statement: Statement) -> bool:
    return _covers_all(statement, "Action", "NotAction", _ALL_ACTIONS)


def _every_resource(statement: Statement) -> bool:
    return _covers_all(statement, "Resource", "NotResource", _ALL_RESOURCES)


def _covers_all(statement: Statement, element: str, negation: str, everything: re.Pattern[str]) -> bool:
    """`Action: "*"` covers all; so does `NotAction` unless it excludes everything (`NotAction: "*"`)."""
    if element in statement:
        return any(everything.fullmatch(value) for value in _strings(statement[element], element))
    if negation in statement:
        return not any(everything.fullmatch(value) for value in _strings(statement[negation], negation))
    return False


# --- TLS-only bucket policy ----------------------------------------------------------------------------


def denies_insecure_transport(policy: Any, bucket: str | None = None) -> bool:
    """True when the bucket policy denies every request made without TLS.

    Some statement must, all at once:

    - have Effect "Deny";
    - apply to everyone: Principal "*" or {"AWS": "*"} (string, or a list containing "*"), and no
      NotPrincipal (that exempts whoever it names);
    - cover every S3 action with `Action`: "*", "s3:*", "*:*", in any case, alone or in a list; a
      statement written with NotAction is not accepted;
    - when `bucket` is given, cover the bucket and all its objects: a pattern matching
      `arn:<partition>:s3:::<bucket>` and one matching every `arn:<partition>:s3:::<bucket>/<key>`, in one
      partition ("*" does both); NotResource is not accepted. With no bucket, resources are not checked;
    - have a Condition made only of `Bool` / `BoolIfExists` tests on aws:SecureTransport whose values
      include false ("false" in any case, JSON false, or a list holding one). Several values are ORed,
      so ["true", "false"] still denies every insecure request. Any other condition (a VPC endpoint, an
      IP range, `s3:TlsVersion`) narrows the deny, so the statement no longer covers every insecure
      request; `NumericLessThan s3:TlsVersion` concerns TLS versions, not plain HTTP.

    A Deny with no Condition at all also refuses insecure requests, but it refuses everything else as
    well; it is not evidence of a TLS rule and is not counted. `policy` may be None or empty (no bucket
    policy) → False; a dict, a JSON string or URL-encoded JSON is accepted.
    """
    if not policy:
        return False
    return any(_denies_insecure_requests(statement, bucket) for statement in statements(policy))


def _denies_insecure_requests(statement: Statement, bucket: str | None) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and _applies_to_everyone(statement)
        and _every_s3_action(statement)
        and (bucket is None or _covers_bucket(statement, bucket))
        and _only_insecure_transport(statement.get("Condition"))
    )


def _applies_to_everyone(statement: Statement) -> bool:
    if "NotPrincipal" in statement:
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _strings(principal.get("AWS", []), "Principal.AWS")


def _every_s3_action(statement: Statement) -> bool:
    if "Action" not in statement:
        return False
    return any(_covers_prefix(action.lower(), "s3:") for action in _strings(statement["Action"], "Action"))


def _covers_bucket(statement: Statement, bucket: str) -> bool:
    if "Resource" not in statement:
        return False
    patterns = _strings(statement["Resource"], "Resource")
    for partition in _partitions(patterns):
        bucket_arn = f"arn:{partition}:s3:::{bucket}"
        if any(_glob(p, bucket_arn) for p in patterns) and any(_covers_prefix(p, f"{bucket_arn}/") for p in patterns):
            return True
    return False


def _partitions(patterns: list[str]) -> set[str]:
    """ "aws" plus every literal partition the patterns name (aws-cn, aws-us-gov, aws-iso, ...)."""
    named = {parts[1] for p in patterns if len(parts := p.split(":")) > 2 and parts[0] == "arn"}
    return {"aws"} | {name for name in named if name and "*" not in name and "?" not in name}


def _only_insecure_transport(condition: Any) -> bool:
    """Every test in the Condition is `Bool`/`BoolIfExists` aws:SecureTransport including false."""
    if not condition:
        return False
    tests = [(operator, key, value) for operator, block in condition.items() for key, value in block.items()]
    return bool(tests) and all(
        operator in _TLS_OPERATORS and key.lower() == _SECURE_TRANSPORT and any(map(_is_false, _values(value)))
        for operator, key, value in tests
    )


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")
