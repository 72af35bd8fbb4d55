#!/usr/bin/env python3
"""Validates an SBOM against the vendored official schemas (tests/schemas/).

usage: validate_sbom.py cyclonedx|spdx FILE

Offline: the CycloneDX schema's $refs to spdx.schema.json and
jsf-0.82.schema.json resolve to the vendored files, never to the network.
Prints "valid" and exits 0, or prints each error and exits 1.
"""
import json
import os
import sys
import warnings

import jsonschema

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
SCHEMAS = {"cyclonedx": "bom-1.5.schema.json", "spdx": "spdx-2.3.schema.json"}
LOCAL = ["bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json", "spdx-2.3.schema.json"]


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def validator_for(schema):
    """A validator whose $refs resolve among the vendored schemas only."""
    store = {}
    for name in LOCAL:
        doc = load(name)
        store[doc["$id"]] = doc
        store["http://cyclonedx.org/schema/" + name] = doc
        store[name] = doc
    cls = jsonschema.validators.validator_for(schema)
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        def retrieve(uri):
            if uri in store:
                return Resource.from_contents(store[uri], default_specification=DRAFT7)
            raise LookupError("not vendored: " + uri)

        return cls(schema, registry=Registry(retrieve=retrieve))
    except ImportError:  # jsonschema before 4.18 (Debian 12): RefResolver
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return cls(schema, resolver=resolver)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCHEMAS:
        print("usage: validate_sbom.py cyclonedx|spdx FILE", file=sys.stderr)
        return 2
    with open(sys.argv[2], encoding="utf-8") as f:
        document = json.load(f)
    validator = validator_for(load(SCHEMAS[sys.argv[1]]))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for e in errors:
        print("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
    if errors:
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
