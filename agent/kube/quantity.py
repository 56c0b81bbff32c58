"""Resource quantities, canonicalized as the API server serializes them.

A client may write ``cpu: 0.5`` or ``memory: 1024Mi``; the API server stores
and returns ``500m`` and ``1Gi``.  This follows
``k8s.io/apimachinery/pkg/api/resource`` (``Quantity.String()`` /
``CanonicalizeBytes``, Kubernetes 1.33): the suffix family the client used is
kept (binary ``Ki..Ei``, decimal ``n..E``, or exponent ``e3``), binary values
below 1024 or with a fraction fall back to decimal, values are rounded up to
a whole nano, and the largest suffix that keeps the number whole is chosen.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))((?:[KMGTPE]i)|[numkMGTPE]|(?:[eE][+-]?\d+))?$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}

QUANTITY_PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


class QuantityError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"quantities must match the regular expression '{QUANTITY_PATTERN}'")
        self.text = text


def parse(value: Any) -> tuple[Fraction, str]:
    """The exact value and its format: ``BinarySI``, ``DecimalSI`` or ``DecimalExponent``."""
    if isinstance(value, bool):
        raise QuantityError(str(value))
    if isinstance(value, int):
        return Fraction(value), "DecimalSI"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(str(value))
        return Fraction(Decimal(repr(value))), "DecimalSI"
    text = str(value).strip()
    m = _QUANTITY.match(text)
    if m is None:
        raise QuantityError(text)
    try:
        number = Fraction(Decimal(m.group(1)))
    except InvalidOperation as e:  # pragma: no cover - the regex admits only numbers
        raise QuantityError(text) from e
    suffix = m.group(2) or ""
    if suffix in _BINARY:
        return number * (2 ** _BINARY[suffix]), "BinarySI"
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    return number * Fraction(10) ** int(suffix[1:]), "DecimalExponent"


def canonical(value: Any) -> str:
    """``0.5`` -> ``500m``, ``1000m`` -> ``1``, ``1024Mi`` -> ``1Gi``, ``1.5Gi`` -> ``1536Mi``."""
    amount, fmt = parse(value)
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if fmt == "BinarySI" and (amount < 1024 or amount.denominator != 1):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        whole = int(amount)
        exponent = 0
        while exponent < 60 and whole % 1024 == 0 and whole >= 1024:
            whole //= 1024
            exponent += 10
        return f"{sign}{whole}{_BINARY_SUFFIX.get(exponent, '')}"
    nanos = math.ceil(amount * 10**9)  # the API server rounds up to a whole nano
    exponent = -9
    while nanos % 1000 == 0 and (fmt == "DecimalExponent" or exponent < 18):
        nanos //= 1000
        exponent += 3
    if fmt == "DecimalExponent":
        return f"{sign}{nanos}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{nanos}{_DECIMAL_SUFFIX[exponent]}"
