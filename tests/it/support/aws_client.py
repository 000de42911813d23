"""The tests' second, independent AWS client: the AWS CLI's calling convention over boto3.

Usage: python aws_client.py SERVICE OPERATION [--param-name VALUE]... [OUTFILE]

    python aws_client.py route53 list-health-checks
    python aws_client.py s3api get-object --bucket b --key k out.json

boto3 comes with moto (it is one of moto's own requirements), so the tests need no AWS CLI,
whose 1.x releases vendor a second botocore (155 MB of the test environment). As the CLI
does: `s3api` is S3; `--hosted-zone-id` is `HostedZoneId`; a structure or map parameter is
JSON; a list parameter takes the words after it (JSON lists are not read); `--body` names a file; a blob
operation's last argument is the file it writes to; paginated operations are read to the
end; the response is printed as JSON without `ResponseMetadata`. The endpoint, region and
credentials come from the environment (AWS_ENDPOINT_URL and friends).
"""
import datetime
import json
import sys

import boto3

SERVICES = {"s3api": "s3"}


def pascal(flag):
    return "".join(w[:1].upper() + w[1:] for w in flag[2:].split("-"))


def typed(shape, words):
    if shape.type_name == "list":
        return words
    (word,) = words
    if shape.type_name in ("integer", "long"):
        return int(word)
    if shape.type_name == "boolean":
        return word.lower() == "true"
    if shape.type_name in ("structure", "map"):
        return json.loads(word)
    return word


def parse(args, input_shape):
    params, outfile, i = {}, None, 0
    while i < len(args):
        if args[i] == "--output":  # the CLI's global option: JSON is all this prints
            i += 2
            continue
        if not args[i].startswith("--"):
            outfile = args[i]
            i += 1
            continue
        name, j = pascal(args[i]), i + 1
        while j < len(args) and not args[j].startswith("--"):
            j += 1
        words = args[i + 1 : j]
        member = input_shape.members.get(name) if input_shape else None
        if member is None:
            sys.exit("aws_client: unknown parameter %s" % args[i])
        if member.type_name != "list" and len(words) == 2:
            # `get-object --key K OUTFILE`: the word after the value is the outfile.
            outfile = words.pop()
        params[name] = typed(member, words)
        i = j
    return params, outfile


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)


def main():
    service, operation, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    client = boto3.client(SERVICES.get(service, service))
    method = operation.replace("-", "_")
    model = client.meta.service_model.operation_model(
        client.meta.method_to_api_mapping[method]
    )
    params, outfile = parse(rest, model.input_shape)
    if "Body" in params:
        with open(params["Body"], "rb") as f:
            params["Body"] = f.read()
    if client.can_paginate(method):
        result = client.get_paginator(method).paginate(**params).build_full_result()
    else:
        result = getattr(client, method)(**params)
    result.pop("ResponseMetadata", None)
    if outfile is not None and "Body" in result:
        with open(outfile, "wb") as f:
            f.write(result.pop("Body").read())
    if result:
        print(json.dumps(result, default=plain, indent=2))


if __name__ == "__main__":
    main()
