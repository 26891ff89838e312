"""Check Swarm's report outputs with real third-party parsers (used by the tests).

    check.py junit FILE        validate FILE against the Jenkins xunit plugin's JUnit
                               schema (junit-10.xsd); exit 1 naming each error
    check.py prometheus        parse the Prometheus text format on stdin with
                               prometheus_client's parser; print its families as JSON

The schema is the copy pytest's source distribution ships (testing/example_scripts/
junit-10.xsd, the file pytest's own tests validate its JUnit XML against), fetched and
hash-checked by `peers/install report-check` into .peers/report-check/.
"""

import json
import math
import os
import sys
from pathlib import Path


def peers_home():
    env = os.environ.get("PEERS_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".peers"


def junit(path):
    import xmlschema

    xsd = peers_home() / "report-check" / "junit-10.xsd"
    if not xsd.is_file():
        sys.exit(f"no {xsd}: run peers/install report-check")
    schema = xmlschema.XMLSchema10(str(xsd))
    errors = list(schema.iter_errors(path))
    for e in errors:
        print(f"invalid: {e.reason} (at {e.path})", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"valid: {path} against {xsd.name}")


def number(v):
    # JSON has no NaN or infinities: name them.
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return v


def prometheus():
    from prometheus_client.parser import text_string_to_metric_families

    families = []
    try:
        parsed = list(text_string_to_metric_families(sys.stdin.read()))
    except ValueError as e:
        sys.exit(f"invalid: {e}")
    for f in parsed:
        families.append(
            {
                "name": f.name,
                "type": f.type,
                "documentation": f.documentation,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": number(s.value)}
                    for s in f.samples
                ],
            }
        )
    json.dump(families, sys.stdout)
    print()


def main(argv):
    if len(argv) == 3 and argv[1] == "junit":
        junit(argv[2])
    elif len(argv) == 2 and argv[1] == "prometheus":
        prometheus()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
