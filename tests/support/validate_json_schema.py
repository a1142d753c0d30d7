#!/usr/bin/env python3
"""Validates a JSON document against a JSON schema (Debian python3-jsonschema).

usage: validate_json_schema.py SCHEMA DOCUMENT
Exit 0 and "ok" when valid; exit 1 with every error (path: message) when not.
Also checks that every edge's source and target are node ids (a reference
a schema cannot express)."""
import json
import sys

import jsonschema


def main():
    schema_path, document_path = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    with open(document_path) as f:
        document = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        print("/".join(str(p) for p in error.path) + ": " + error.message)
    topology = document.get("topology", {}) if isinstance(document, dict) else {}
    ids = {n.get("id") for n in topology.get("nodes", []) if isinstance(n, dict)}
    for i, edge in enumerate(topology.get("edges", [])):
        for end in ("source", "target"):
            if isinstance(edge, dict) and edge.get(end) not in ids:
                errors.append(end)
                print("topology/edges/%d/%s: %r is not a node id" % (i, end, edge.get(end)))
    if errors:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
