#!/usr/bin/env python3
"""Regenerates aws-provider-5.99.1.json: the argument and block names (and the
required top-level arguments) of every hashicorp/aws resource and data source
that terraform/ uses, taken from the provider schema as PyPI's
cdktf-cdktf-provider-aws 19.65.1 ships it (generated from hashicorp/aws 5.99.1). The AWS provider itself cannot be downloaded here,
so this snapshot is what tests/it/platform_code.rs checks names against.

    python3 terraform/schema/generate.py     # after adding a new resource type

Standard library only; pip fetches the wheel into a temporary folder.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "cdktf-cdktf-provider-aws==19.65.1"
PROVIDER_VERSION = "5.99.1"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # terraform/
OUT = os.path.join(HERE, f"aws-provider-{PROVIDER_VERSION}.json")

# cdktf stops generating nested types below a recursion depth; the names under
# these blocks are not in the bindings and are therefore not checked.
UNCHECKED_BLOCKS = {"aws_wafv2_web_acl": ["statement"]}


def used_types():
    used = set()
    pattern = re.compile(r'^(resource|data) "(aws_[a-z0-9_]+)"', re.M)
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".tf"):
                with open(os.path.join(folder, name)) as f:
                    used.update(pattern.findall(f.read()))
    return used


def main():
    wanted = used_types()
    anchor = re.compile(
        rf"hashicorp/aws/{re.escape(PROVIDER_VERSION)}/docs/(resources|data-sources)/([a-z0-9_]+)(?:#([a-z0-9_]+))?"
    )
    names = {}
    required = {}
    config_class = re.compile(r"^class \w+Config\(_cdktf_\w+\.TerraformMetaArguments\):\n    def __init__\(\n(.*?)\n    \) -> None:", re.M | re.S)
    parameter = re.compile(r"^        (\w+): (.*?),?$")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:", "-d", tmp, PACKAGE],
            check=True,
            env={**os.environ, "HOME": tmp},
        )
        wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if not member.endswith("/__init__.py"):
                    continue
                text = z.read(member).decode("utf-8")
                for kind, short, arg in anchor.findall(text):
                    key = ("resource" if kind == "resources" else "data", "aws_" + short)
                    if key in wanted:
                        entry = names.setdefault(key, set())
                        if arg:
                            entry.add(arg)
                # Top-level arguments without a default in the generated
                # config class are the resource's required arguments.
                for match in config_class.finditer(text):
                    found = anchor.search(text, match.end())
                    if not found:
                        continue
                    kind, short, _ = found.groups()
                    key = ("resource" if kind == "resources" else "data", "aws_" + short)
                    if key in wanted:
                        params = [parameter.match(line) for line in match.group(1).splitlines()]
                        required[key] = sorted(
                            p.group(1) for p in params if p and not p.group(2).endswith("= None") and p.group(1) != "self"
                        )
    missing = sorted(f"{k} {t}" for k, t in wanted if (k, t) not in names)
    if missing:
        sys.exit(f"not in hashicorp/aws {PROVIDER_VERSION}: {', '.join(missing)}")
    out = {
        "provider": f"hashicorp/aws {PROVIDER_VERSION}",
        "source": f"PyPI {PACKAGE}",
        "unchecked_blocks": UNCHECKED_BLOCKS,
        "resource": {t: sorted(n) for (k, t), n in sorted(names.items()) if k == "resource"},
        "data": {t: sorted(n) for (k, t), n in sorted(names.items()) if k == "data"},
        "required": {
            "resource": {t: r for (k, t), r in sorted(required.items()) if k == "resource" and r},
            "data": {t: r for (k, t), r in sorted(required.items()) if k == "data" and r},
        },
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)}: {len(out['resource'])} resources, {len(out['data'])} data sources")


if __name__ == "__main__":
    main()
