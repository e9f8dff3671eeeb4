"""superbound: exact losses and bounds of the toy autoencoder xhat = sigma(W^T W x + b).

Exact values are ``fractions.Fraction`` with a float beside them. NumPy float arrays and Python
floats are read as the exact binary fractions they are (float32 0.1 is 13421773/134217728);
ints, Fractions and strings such as "-3/7" are exact. Errors raise ``ValueError`` with the
command line's one-line message.

    >>> import superbound, numpy as np
    >>> r = superbound.loss(np.eye(2, dtype=np.float32), act="rect", p=1)
    >>> r["value"], r["float"]          # the first-order loss L1 (no density given)
"""

import json
from fractions import Fraction

from . import _superbound

__all__ = ["loss", "bounds", "optimize", "check", "exact"]
__version__ = _superbound.__version__


def _rational_text(x, what):
    """A density or option value as exact text: Fraction, int, float (its binary value) or str."""
    if isinstance(x, bool):
        raise ValueError(f"{what}: a bool is not a number")
    if isinstance(x, str):
        return x
    if isinstance(x, (int, Fraction)):
        return str(Fraction(x))
    try:
        return str(Fraction(*x.as_integer_ratio()))
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise ValueError(f"{what}: {x!r} is not a finite number") from None


def exact(text):
    """An exact value printed by the CLI ("a/b" or an integer) as a Fraction."""
    return Fraction(text)


def _record(rec):
    """Adds ``value`` (Fraction) and ``float`` to one loss record."""
    if rec.get("loss") is not None:
        rec["value"] = Fraction(rec["loss"])
    elif rec.get("first_order") is not None and "density" not in rec:
        rec["value"] = Fraction(rec["first_order"])
    else:
        rec["value"] = None
    rec["float"] = float(rec["value"]) if rec["value"] is not None else rec.get("loss_estimate")
    return rec


def loss(W, act="rect", p=1, density=None, b=None, importance=None, values="uniform",
         samples=200_000, seed=0):
    """The exact loss of W (shape (m, n); or (instances, m, n): a list, one record each).

    With ``density=None`` the value is the first-order loss L1(W) = lim L(W; s)/s; with a
    density s in (0, 1] it is L(W; s) (the fields of ``superbound loss --json``). The record
    holds ``value`` (Fraction) and ``float``; for the rectified activation with more than 8
    coupled features there is no exact loss at a density: ``value`` is None and ``float`` the
    Monte Carlo estimate (``std_error`` beside it).
    """
    dens = None if density is None else _rational_text(density, "density")
    text = _superbound.loss_json(W, str(act), int(p), dens, b, importance, str(values),
                                 int(samples), int(seed))
    out = json.loads(text)
    if isinstance(out, list):
        return [_record(r) for r in out]
    return _record(out)


def _flags(options):
    args = []
    for key, val in options.items():
        if val is None or val is False:
            continue
        flag = "--" + key.replace("_", "-")
        if val is True:
            args.append(flag)
        elif key == "importance" and not isinstance(val, str):
            args += [flag, ",".join(_rational_text(v, "importance") for v in val)]
        elif key in ("density", "sparsity"):
            args += [flag, _rational_text(val, key)]
        else:
            args += [flag, str(val)]
    return args


def _run(args):
    return json.loads(_superbound.run_cli(args))


def bounds(act, p, n, m, density=None, values="uniform", **options):
    """Every lower and upper bound for the model, as ``superbound bounds --json`` prints.

    Options as the command line's: ``bias=True``, ``importance=[...]`` or "geometric:R",
    ``sparsity=...``.
    """
    args = ["bounds", "--act", str(act), "--p", str(p), "--n", str(n), "--m", str(m),
            "--values", str(values)]
    args += _flags({"density": density, **options}) + ["--json"]
    return _run(args)


def optimize(act, p, n, m, density=None, values="uniform", **options):
    """Minimise the loss (first order when no density is given), as ``superbound optimize
    --json`` prints. Options as the command line's: ``restarts``, ``seed``, ``bias``,
    ``method``, ``steps``, ``importance``, ``sparsity``, ``save``."""
    args = ["optimize", "--act", str(act), "--p", str(p), "--n", str(n), "--m", str(m),
            "--values", str(values)]
    if density is None and "sparsity" not in options:
        options = {"first_order": True, **options}
    args += _flags({"density": density, **options}) + ["--json"]
    return _run(args)


def check(path, evidence=None):
    """Re-verify a certificate, witness, row evidence, evidence directory or (with
    ``evidence``) a table CSV with the kernel alone. Returns ``{"verified": True, "report":
    text}``; a file that fails raises ValueError naming what failed."""
    args = ["check", str(path)]
    if evidence is not None:
        args += ["--evidence", str(evidence)]
    return {"verified": True, "report": _superbound.run_cli(args)}
