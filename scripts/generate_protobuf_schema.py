"""Writes ``agent/emulator/protobuf/messages.json``: the Kubernetes protobuf messages the
emulated cluster decodes (kubectl 1.32 and later send built-in kinds as
``application/vnd.kubernetes.protobuf``).

The messages are read from the ``generated.proto`` files of the Kubernetes API
modules (``k8s.io/api``, ``k8s.io/apimachinery``, ``k8s.io/apiextensions-apiserver``)
at the version ``tests/apiserver/go.mod`` pins, in the Go module cache that
building the test API server fills (``go mod download`` does it too)::

    python scripts/generate_protobuf_schema.py            # rewrite the table
    python scripts/generate_protobuf_schema.py --check    # exit 1 when it is stale

Every message of those modules is kept (about 1,300, a few hundred KB); each
is ``{field number: [json name, type, label]}``, where type is a scalar type, a
fully qualified message name, or ``map<key,value>``.  A small parser reads the
files: they use one proto2 subset (messages, ``optional``/``repeated`` fields,
``map<,>``), without nested messages, enums or oneofs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "agent" / "emulator" / "protobuf" / "messages.json"
GO_MOD = ROOT / "tests" / "apiserver" / "go.mod"
MODULES = ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiextensions-apiserver")

_PACKAGE = re.compile(r"^package\s+([\w.]+);", re.M)
_MESSAGE = re.compile(r"^message\s+(\w+)\s*\{(.*?)^\}", re.M | re.S)
_FIELD = re.compile(
    r"^\s*(optional|repeated|required)?\s*(map<\s*[\w.]+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)", re.M
)


def _module_dirs() -> list[Path]:
    text = GO_MOD.read_text()
    cache = Path(
        subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    )
    dirs = []
    for module in MODULES:
        found = re.search(rf"^\s*{re.escape(module)}\s+=>\s+\S+\s+(v[\w.\-]+)", text, re.M) or re.search(
            rf"^\s*{re.escape(module)}\s+(v[\w.\-]+)", text, re.M
        )
        if found is None:
            raise SystemExit(f"{module} is not pinned in {GO_MOD}")
        folder = cache / f"{module}@{found.group(1)}"
        if not folder.is_dir():
            raise SystemExit(f"{folder} is missing: run `go mod download` in tests/apiserver")
        dirs.append(folder)
    return dirs


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """The messages of one ``generated.proto``, by fully qualified name."""
    text = re.sub(r"//[^\n]*", "", text)
    package = _PACKAGE.search(text)
    prefix = package.group(1) if package else ""
    out: dict[str, dict[str, list[str]]] = {}
    for name, body in _MESSAGE.findall(text):
        fields: dict[str, list[str]] = {}
        for label, declared, field, number in _FIELD.findall(body):
            kind = re.sub(r"\s+", "", declared)
            if kind.startswith("map<"):
                key, value = kind[4:-1].split(",")
                fields[number] = [field, f"map<{key},{_qualified(value, prefix)}>", "repeated"]
            else:
                fields[number] = [field, _qualified(kind, prefix), label or "optional"]
        out[f"{prefix}.{name}"] = fields
    return out


_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}
_SCALARS |= {"sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"}


def _qualified(kind: str, package: str) -> str:
    if kind in _SCALARS:
        return kind
    return kind[1:] if kind.startswith(".") else f"{package}.{kind}"


def build() -> dict[str, dict[str, list[str]]]:
    messages: dict[str, dict[str, list[str]]] = {}
    for folder in _module_dirs():
        for proto in sorted(folder.rglob("generated.proto")):
            messages.update(parse(proto.read_text()))
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the checked-in table is stale")
    args = parser.parse_args(argv)
    text = json.dumps(build(), sort_keys=True, separators=(",", ":")) + "\n"
    if args.check:
        fresh = OUT.is_file() and OUT.read_text() == text
        print(f"{OUT.relative_to(ROOT)} is {'up to date' if fresh else 'stale'}")
        return 0 if fresh else 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
