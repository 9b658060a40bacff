#!/usr/bin/env python3
"""Regenerates providers-schema.json: the schema of every hashicorp/aws,
hashicorp/random and hashicorp/tls resource and data source that terraform/
uses (plus EXTRA_TYPES), in the format `terraform providers schema -json`
writes. Terraform cannot download those providers here; the schema stand-in
provider (tests/aws-standin) serves this file to Terraform instead, so
`terraform validate` and `terraform test` judge the real stacks.

    python3 terraform/schema/generate_schema.py     # after adding a new type

The source is what cdktf generated from each provider's own
`terraform providers schema -json`, as published on PyPI (pinned below). Each
package's jsii tarball holds, per resource, the generated TypeScript (in the
source map of lib/<resource>/index.js). For every attribute and nested block
that source has:

  - a comment `// <name> - computed: X, optional: Y, required: Z` (the
    schema's own flags, verbatim);
  - the getter's typed accessor (getStringAttribute, getNumberListAttribute,
    Fn.tolist(...) for sets, ...) or a nested `XList`/`XOutputReference`/
    `XMap` object (with `wrapsSet` saying set or list);
  - for everything settable, `synthesizeHclAttributes()` / `xToHclTerraform`
    with `isBlock`, `type` (simple, list, set, map, struct) and
    `storageClassType`.

cdktf turns a `max_items = 1` list block into an `XOutputReference` with
`type: "list"`; a `nesting_mode = "single"` block into one with
`type: "struct"`. Both are written back as the provider declares them.

What cdktf does not carry, and this script therefore cannot know: `sensitive`
(taken from SENSITIVE below, from the providers' documentation), deprecation
flags, descriptions, and the `min_items`/`max_items` of the provider
configuration's own blocks (cdktf types them as plain arrays).

Standard library only; pip fetches the wheels into a temporary folder.
"""
import base64
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PROVIDERS = {
    # provider: (PyPI package, provider version, resource-name prefix)
    "aws": ("cdktf-cdktf-provider-aws==19.65.1", "5.99.1"),
    "random": ("cdktf-cdktf-provider-random==12.0.1", "3.7.2"),
    "tls": ("cdktf-cdktf-provider-tls==11.0.1", "4.1.0"),
}
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # terraform/
OUT = os.path.join(HERE, "providers-schema.json")

# Types the platform is about to use (the fixes of issue 12 section 4 and the
# Kubernetes-facing roles and buckets) and close relatives, so that a stack
# that starts using one does not need this script re-run first. More is fine.
EXTRA_TYPES = {
    ("resource", "aws_eks_addon"),
    ("resource", "aws_iam_service_linked_role"),
    ("resource", "aws_route53_zone"),
    ("resource", "aws_route53_record"),
    ("resource", "aws_s3_bucket_object_lock_configuration"),
    ("resource", "aws_s3_bucket_replication_configuration"),
    ("resource", "aws_cloudwatch_log_metric_filter"),
    ("resource", "aws_cloudwatch_metric_alarm"),
    ("resource", "aws_guardduty_detector_feature"),
    ("resource", "aws_ecr_replication_configuration"),
    ("resource", "aws_secretsmanager_secret"),
    ("resource", "aws_secretsmanager_secret_version"),
    ("resource", "aws_secretsmanager_secret_rotation"),
    ("resource", "aws_iam_role"),
    ("resource", "aws_iam_policy"),
    ("resource", "aws_iam_role_policy"),
    ("resource", "aws_iam_role_policy_attachment"),
    ("resource", "aws_eks_access_entry"),
    ("resource", "aws_eks_access_policy_association"),
    ("resource", "aws_eks_pod_identity_association"),
    ("resource", "aws_instance"),
    ("resource", "aws_iam_instance_profile"),
    ("resource", "aws_ssm_document"),
    ("resource", "aws_kms_replica_key"),
    ("resource", "aws_sns_topic_subscription"),
    ("resource", "aws_s3_bucket"),
    ("data", "aws_ami"),
    ("data", "aws_ssm_parameter"),
    ("data", "aws_iam_policy_document"),
    ("data", "aws_eks_cluster"),
    ("data", "aws_eks_cluster_auth"),
    ("data", "aws_availability_zones"),
    ("data", "aws_caller_identity"),
    ("data", "aws_region"),
    ("data", "aws_partition"),
}

# Attributes the providers mark sensitive (their documentation says so; cdktf
# drops the flag). Terraform refuses an output that shows one of these without
# `sensitive = true`, so leaving one out would make validate more lenient than
# the real provider.
SENSITIVE = {
    ("resource", "random_password"): ["result", "bcrypt_hash"],
    ("resource", "random_string"): [],
    ("resource", "aws_db_instance"): ["password", "password_wo"],
    ("resource", "aws_elasticache_replication_group"): ["auth_token"],
    ("resource", "aws_secretsmanager_secret_version"): ["secret_string", "secret_binary", "secret_string_wo"],
    ("data", "aws_secretsmanager_secret_version"): ["secret_string", "secret_binary"],
    ("resource", "tls_private_key"): ["private_key_pem", "private_key_openssh", "private_key_pem_pkcs8"],
    ("data", "aws_eks_cluster_auth"): ["token"],
    ("resource", "aws_iam_access_key"): ["secret", "ses_smtp_password_v4"],
}

# cdktf stops generating below a recursion depth and types the WAFv2 rule's
# `statement` as `any`; Terraform refuses a dynamic attribute inside a set
# block, and `statement` is a block in the provider. It is written here by
# hand from the provider's documentation (resources/wafv2_web_acl), limited to
# the statement kinds this platform uses; a kind not listed fails validate,
# which is the safe direction. `action_to_use` has the same blocks as the
# rule's own `action`, which cdktf does generate.
def waf_statement(rule_block):
    def attr(ty, required=False):
        return {"type": ty, ("required" if required else "optional"): True, "description_kind": "plain"}

    def one(block, required=False):
        nb = {"nesting_mode": "list", "block": block, "max_items": 1}
        if required:
            nb["min_items"] = 1
        return nb

    action = rule_block["block_types"]["action"]["block"]
    statement = {
        "attributes": {},
        "block_types": {
            "rate_based_statement": one({
                "attributes": {
                    "limit": attr("number", True),
                    "aggregate_key_type": attr("string"),
                    "evaluation_window_sec": attr("number"),
                },
                "block_types": {
                    "forwarded_ip_config": one({
                        "attributes": {"fallback_behavior": attr("string", True), "header_name": attr("string", True)},
                        "description_kind": "plain",
                    }),
                },
                "description_kind": "plain",
            }),
            "managed_rule_group_statement": one({
                "attributes": {
                    "name": attr("string", True),
                    "vendor_name": attr("string", True),
                    "version": attr("string"),
                },
                "block_types": {
                    "rule_action_override": {
                        "nesting_mode": "list",
                        "max_items": 100,
                        "block": {
                            "attributes": {"name": attr("string", True)},
                            "block_types": {"action_to_use": one(action, True)},
                            "description_kind": "plain",
                        },
                    },
                },
                "description_kind": "plain",
            }),
            "ip_set_reference_statement": one({"attributes": {"arn": attr("string", True)}, "description_kind": "plain"}),
            "geo_match_statement": one({"attributes": {"country_codes": attr(["list", "string"], True)}, "description_kind": "plain"}),
        },
        "description_kind": "plain",
    }
    del rule_block["attributes"]["statement"]
    rule_block["block_types"]["statement"] = one(statement, True)


HAND_WRITTEN = {("resource", "aws_wafv2_web_acl"): lambda block: waf_statement(block["block_types"]["rule"]["block"])}

SCALAR = {"string": "string", "number": "number", "boolean": "bool", "any": "dynamic"}


def used_types():
    used = set()
    pattern = re.compile(r'^(resource|data) "((?:aws|random|tls)_[a-z0-9_]+)"', re.M)
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".tf"):
                with open(os.path.join(folder, name)) as f:
                    used.update(pattern.findall(f.read()))
    return used


def typescript_of(js):
    """The TypeScript cdktf wrote, from the source map embedded in index.js."""
    m = re.search(r"sourceMappingURL=data:application/json;base64,(\S+)", js)
    if not m:
        raise ValueError("no embedded source map")
    return json.loads(base64.b64decode(m.group(1)))["sourcesContent"][0]


def split_units(src):
    """Top-level classes, functions and interfaces by name."""
    units = {}
    starts = [
        (m.start(), m.group(1), m.group(2))
        for m in re.finditer(r"^export (?:class|function|interface) (\w+)(.*)$", src, re.M)
    ]
    for i, (pos, name, rest) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(src)
        units[name] = (rest, src[pos:end])
    return units


HCL_ENTRY = re.compile(
    r"^\s+(\w+): \{\n\s+value: (.*)\n\s+isBlock: (true|false),\n\s+type: \"(\w+)\",\n\s+storageClassType: \"(\w+)\",",
    re.M,
)
FLAGS = re.compile(r"^  // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n((?:.*\n){1,4})", re.M)


def hcl_entries(text):
    """name -> (is_block, type, storageClassType, attr_as_block). cdktf says isBlock for an
    SDKv2 "attributes as blocks" list too (ConfigModeAttr, e.g.
    aws_security_group.ingress); its listMapperHcl(..., false) tells it
    apart from a real block (true), and the schema has it as an attribute
    of type set/list of object."""
    out = {}
    for m in HCL_ENTRY.finditer(text):
        is_block = m.group(3) == "true"
        mapper = re.search(r"listMapperHcl\(\w+, (true|false)\)", m.group(2))
        attr_as_block = is_block and mapper is not None and mapper.group(1) == "false"
        out[m.group(1)] = (is_block and not attr_as_block, m.group(4), m.group(5), attr_as_block)
    return out


def lower_first(name):
    return name[0].lower() + name[1:]


class Parser:
    def __init__(self, src, what):
        self.units = split_units(src)
        self.what = what

    def hcl_of_struct(self, struct):
        unit = self.units.get(lower_first(struct) + "ToHclTerraform")
        return hcl_entries(unit[1]) if unit else {}

    def scalar_from_accessor(self, body, name):
        """The cty type of a plain attribute, from its getter."""
        checks = [
            (r"Token\.asNumberList\(cdktf\.Fn\.tolist\(this\.getNumberListAttribute", ["set", "number"]),
            (r"Fn\.tolist\(this\.getNumberListAttribute", ["set", "number"]),
            (r"Fn\.tolist\(this\.getBooleanListAttribute", ["set", "bool"]),
            (r"Fn\.tolist\(this\.getListAttribute", ["set", "string"]),
            (r"Fn\.tolist\(this\.interpolationForAttribute", ["set", "dynamic"]),
            (r"this\.getNumberListAttribute", ["list", "number"]),
            (r"this\.getBooleanListAttribute", ["list", "bool"]),
            (r"this\.getListAttribute", ["list", "string"]),
            (r"this\.getStringMapAttribute", ["map", "string"]),
            (r"this\.getNumberMapAttribute", ["map", "number"]),
            (r"this\.getBooleanMapAttribute", ["map", "bool"]),
            (r"this\.getAnyMapAttribute", ["map", "dynamic"]),
            (r"this\.getStringAttribute", "string"),
            (r"this\.getNumberAttribute", "number"),
            (r"this\.getBooleanAttribute", "bool"),
            (r"this\.interpolationForAttribute", "dynamic"),
            (r"new cdktf\.StringMap\(", ["map", "string"]),
            (r"new cdktf\.NumberMap\(", ["map", "number"]),
            (r"new cdktf\.BooleanMap\(", ["map", "bool"]),
            (r"new cdktf\.AnyMap\(", ["map", "dynamic"]),
            (r"new cdktf\.StringListMap\(", ["map", ["list", "string"]]),
            (r"new cdktf\.NumberListMap\(", ["map", ["list", "number"]]),
        ]
        for pattern, cty in checks:
            if re.search(pattern, body):
                return cty
        return None

    def scalar_from_hcl(self, hcl):
        _, kind, storage = hcl[:3]
        m = re.fullmatch(r"(string|number|boolean|any)(List|Map)?", storage)
        if not m:
            return None
        base = SCALAR[m.group(1)]
        if kind == "simple":
            return base
        if kind in ("list", "set", "map"):
            return [kind, base]
        return None

    def block(self, cls, hcl, provider_struct=None):
        """The schema block of class `cls` (a resource, data source or an
        XOutputReference struct)."""
        attributes, block_types = {}, {}
        if cls is None:
            # A provider-configuration struct: an interface and its
            # ToHcl function, no getters.
            iface = self.units[provider_struct][1]
            for name, entry in hcl.items():
                camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
                optional = re.search(rf"readonly {camel}\?:", iface) is not None
                self.member(attributes, block_types, name, entry, None, (False, optional, not optional))
            return finish(attributes, block_types)
        text = self.units[cls][1]
        for m in FLAGS.finditer(text):
            name = m.group(1)
            flags = tuple(m.group(i) == "true" for i in (2, 3, 4))
            self.member(attributes, block_types, name, hcl.get(name), m.group(5), flags)
        return finish(attributes, block_types)

    def member(self, attributes, block_types, name, hcl, body, flags):
        computed, optional, required = flags
        nested = re.search(r"new (\w+?)(List|OutputReference|Map)\(this, \"\w+\"(?:, (true|false))?\)", body or "")
        if nested is None and hcl is not None and hcl[0]:
            # Provider structs: a block typed as an array of a struct.
            struct = hcl[2][: -len("List")] if hcl[2].endswith("List") else hcl[2]
            inner = self.block(None, self.hcl_of_struct(struct), provider_struct=struct)
            block_types[name] = {"nesting_mode": hcl[1] if hcl[1] in ("list", "set") else "list", "block": inner}
            return
        if nested and not nested.group(1).startswith("cdktf."):
            struct, kind, wraps_set = nested.group(1), nested.group(2), nested.group(3) == "true"
            element = struct + "OutputReference"
            inner = self.block(element if element in self.units else None, self.hcl_of_struct(struct), provider_struct=struct if element not in self.units else None)
            is_block = hcl is not None and hcl[0]
            if is_block:
                if kind == "List":
                    nb = {"nesting_mode": "set" if wraps_set else "list", "block": inner}
                elif hcl[1] == "struct":
                    nb = {"nesting_mode": "single", "block": inner}
                else:
                    nb = {"nesting_mode": "list", "block": inner, "max_items": 1}
                if required:
                    nb["min_items"] = 1
                block_types[name] = nb
                return
            mode = {"List": "set" if wraps_set else "list", "OutputReference": "single", "Map": "map"}[kind]
            if (hcl is None and not (optional or required)) or (hcl is not None and hcl[3]):
                # Computed only, or an SDKv2 attribute-as-block: a plain
                # attribute of type list/set of object.
                attr = {"type": object_type(inner) if mode == "single" else [mode, object_type(inner)]}
            else:
                attr = {"nested_type": {"attributes": inner["attributes"], "nesting_mode": mode}}
            attributes[name] = with_flags(attr, flags)
            return
        cty = self.scalar_from_accessor(body or "", name)
        if cty is None and hcl is not None:
            cty = self.scalar_from_hcl(hcl)
        if cty is None and body is not None and re.search(r"return this\._\w+;", body) and hcl is not None:
            cty = self.scalar_from_hcl(hcl)
        if cty is None:
            raise ValueError(f"{self.what}: cannot type attribute {name}: {(body or '').strip()[:120]!r} {hcl}")
        attributes[name] = with_flags({"type": cty}, flags)


def object_type(block):
    fields = {}
    for name, attr in block["attributes"].items():
        fields[name] = attr["type"] if "type" in attr else nested_to_type(attr["nested_type"])
    for name, nb in block.get("block_types", {}).items():
        inner = object_type(nb["block"])
        fields[name] = inner if nb["nesting_mode"] == "single" else [nb["nesting_mode"], inner]
    return ["object", fields]


def nested_to_type(nested):
    obj = object_type({"attributes": nested["attributes"]})
    return obj if nested["nesting_mode"] == "single" else [nested["nesting_mode"], obj]


def with_flags(attr, flags):
    computed, optional, required = flags
    if required:
        attr["required"] = True
    if optional:
        attr["optional"] = True
    if computed:
        attr["computed"] = True
    attr["description_kind"] = "plain"
    return attr


def finish(attributes, block_types):
    out = {"attributes": attributes, "description_kind": "plain"}
    if block_types:
        out["block_types"] = block_types
    return out


def load_package(package, tmp):
    """{(kind, type): TypeScript source} and the provider's TypeScript."""
    folder = os.path.join(tmp, package.split("==")[0])
    os.makedirs(folder, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:", "-d", folder, package],
        check=True,
        env={**os.environ, "HOME": tmp},
    )
    wheel = next(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".whl"))
    with zipfile.ZipFile(wheel) as z:
        tgz = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
        blob = z.read(tgz)
    sources = {}
    provider = None
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar.getmembers():
            m = re.fullmatch(r"package/lib/([a-z0-9-]+)/index\.js", member.name)
            if not m:
                continue
            js = tar.extractfile(member).read().decode("utf-8")
            if m.group(1) == "provider":
                provider = js
                continue
            t = re.search(r'\.tfResourceType = "(\w+)";', js)
            if t:
                kind = "data" if "extends cdktf.TerraformDataSource" in js or m.group(1).startswith("data-") else "resource"
                sources[(kind, t.group(1))] = js
    return sources, provider


def main_class(units, base):
    for name, (rest, _) in units.items():
        if f"extends cdktf.{base}" in rest:
            return name
    raise ValueError(f"no class extending cdktf.{base}")


def schema_of(js, base, what):
    src = typescript_of(js)
    parser = Parser(src, what)
    cls = main_class(parser.units, base)
    body = parser.units[cls][1]
    synth = body[body.index("synthesizeHclAttributes()") :] if "synthesizeHclAttributes()" in body else ""
    return parser.block(cls, hcl_entries(synth))


def mark_sensitive(block, names):
    for name in names:
        if name in block["attributes"]:
            block["attributes"][name]["sensitive"] = True


def main():
    wanted = used_types() | {(k, t) for k, t in EXTRA_TYPES}
    out = {"format_version": "1.0", "provider_schemas": {}}
    sources_note = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, (package, version) in PROVIDERS.items():
            sources, provider_js = load_package(package, tmp)
            mine = {(k, t) for k, t in wanted if t.startswith(prefix + "_")}
            missing = sorted(f"{k} {t}" for k, t in mine if (k, t) not in sources)
            if missing:
                sys.exit(f"not in hashicorp/{prefix} {version}: {', '.join(missing)}")
            entry = {
                "provider": {"version": 0, "block": schema_of(provider_js, "TerraformProvider", f"provider {prefix}")},
                "resource_schemas": {},
                "data_source_schemas": {},
            }
            for kind, name in sorted(mine):
                block = schema_of(sources[(kind, name)], "TerraformResource" if kind == "resource" else "TerraformDataSource", name)
                mark_sensitive(block, SENSITIVE.get((kind, name), []))
                if (kind, name) in HAND_WRITTEN:
                    HAND_WRITTEN[(kind, name)](block)
                key = "resource_schemas" if kind == "resource" else "data_source_schemas"
                entry[key][name] = {"version": 0, "block": block}
            out["provider_schemas"][f"registry.terraform.io/hashicorp/{prefix}"] = entry
            sources_note[f"registry.terraform.io/hashicorp/{prefix}"] = {"version": version, "source": f"PyPI {package}"}
    # Not part of Terraform's format (it has no room for it); the stand-in
    # reads the version it must announce from here.
    out["ohmc_sources"] = sources_note
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    counts = ", ".join(
        f"{p.split('/')[-1]}: {len(e['resource_schemas'])} resources, {len(e['data_source_schemas'])} data sources"
        for p, e in out["provider_schemas"].items()
    )
    print(f"wrote {os.path.relpath(OUT)} ({counts})")


if __name__ == "__main__":
    main()
