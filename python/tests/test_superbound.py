"""The Python module gives exactly what the command line gives, and reads floats exactly.

The CLI binary is SUPERBOUND_BIN (default: target/release/superbound of the repository, built
by python/ci.sh). Expected values are either the CLI's output on the same exact rationals
written as JSON, or computed here by hand.
"""

import json
import re
import os
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import superbound

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SUPERBOUND_BIN", str(REPO / "target" / "release" / "superbound"))


def cli(*args):
    out = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def exact_rows(a):
    """A float array's entries as exact "a/b" strings (Python's exact float -> Fraction)."""
    return [[str(Fraction(float(x))) for x in row] for row in np.asarray(a)]


def weights_json(tmp_path, W, b=None, importance=None, name="w.json"):
    obj = {"W": W}
    if b is not None:
        obj["b"] = b
    if importance is not None:
        obj["importance"] = importance
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


EXACT_FIELDS = ["loss", "first_order", "s1_coefficient", "density_polynomial", "constant_term"]


def same_exact(a, b):
    for key in EXACT_FIELDS:
        assert a.get(key) == b.get(key), key


W_STR = [["1/2", "-1/3", "2/5", "1/7"], ["1/4", "2/3", "-1/5", "3/7"]]


@pytest.mark.parametrize("act,p", [("power", 1), ("power", 2), ("power", 3), ("rect", 1), ("rect", 2)])
def test_loss_equals_cli_at_a_density(tmp_path, act, p):
    path = weights_json(tmp_path, W_STR)
    expected = cli("loss", "--act", act, "--p", p, "--density", "1/10", "--weights", path, "--json")
    got = superbound.loss(W_STR, act=act, p=p, density="1/10")
    same_exact(got, expected)
    assert got["value"] == Fraction(expected["loss"])
    assert got["float"] == float(Fraction(expected["loss"]))
    # The density as a Fraction gives the same.
    assert superbound.loss(W_STR, act=act, p=p, density=Fraction(1, 10))["value"] == got["value"]


@pytest.mark.parametrize("act,p", [("power", 2), ("rect", 1)])
def test_bias_and_importance_equal_cli(tmp_path, act, p):
    b = ["1/8", "-1/4", "0", "1/3"]
    imp = ["1", "1/2", "1/4", "1/8"]
    path = weights_json(tmp_path, W_STR, b=b, importance=imp)
    expected = cli("loss", "--act", act, "--p", p, "--density", "1/3", "--weights", path, "--json")
    got = superbound.loss(W_STR, act=act, p=p, density="1/3",
                          b=[Fraction(1, 8), Fraction(-1, 4), 0, "1/3"],
                          importance=[1, Fraction(1, 2), 0.25, "1/8"])
    same_exact(got, expected)
    assert got["value"] == Fraction(expected["loss"])


@pytest.mark.parametrize("act,p", [("power", 1), ("power", 2), ("rect", 1)])
def test_first_order_without_density_equals_cli_first_order(tmp_path, act, p):
    path = weights_json(tmp_path, W_STR)
    expected = cli("loss", "--act", act, "--p", p, "--density", "1/2", "--weights", path, "--json")
    got = superbound.loss(W_STR, act=act, p=p)
    assert got["value"] == Fraction(expected["first_order"])
    assert got["first_order"] == expected["first_order"]


def test_first_order_by_hand():
    # W = [[1/2]], power p = 1, uniform values: L1 = mu_2 (1 - d)^2 = (1/3)(3/4)^2 = 3/16.
    r = superbound.loss([["1/2"]], act="power", p=1)
    assert r["value"] == Fraction(3, 16)
    assert r["float"] == 0.1875


def test_float32_is_its_exact_dyadic_value():
    w32 = np.array([[0.1]], dtype=np.float32)
    d = Fraction(13421773, 134217728) ** 2  # 0.1f32 = 13421773 / 2^27
    r = superbound.loss(w32, act="power", p=1)
    assert r["value"] == Fraction(1, 3) * (1 - d) ** 2
    assert r["weights"] == "float32 read exactly as binary fractions"
    # Not the decimal 0.1, and not the float64 0.1.
    assert r["value"] != superbound.loss([["1/10"]], act="power", p=1)["value"]
    assert r["value"] != superbound.loss([[0.1]], act="power", p=1)["value"]
    # A float64 array and Python floats are their exact binary values too.
    d64 = Fraction(0.1) ** 2
    assert superbound.loss(np.array([[0.1]]), act="power", p=1)["value"] == Fraction(1, 3) * (1 - d64) ** 2
    assert superbound.loss([[0.1]], act="power", p=1)["value"] == Fraction(1, 3) * (1 - d64) ** 2


def test_numpy_arrays_equal_cli_on_npy_files(tmp_path):
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64, np.float16):
        W = (rng.normal(size=(3, 5)) * 0.5).astype(dtype)
        np.save(tmp_path / "w.npy", W)
        for act, p in [("power", 2), ("rect", 1)]:
            expected = cli("loss", "--act", act, "--p", p, "--density", "1/5",
                           "--weights", tmp_path / "w.npy", "--json")
            got = superbound.loss(W, act=act, p=p, density="1/5")
            same_exact(got, expected)
            assert got["weights"] == expected["weights"]
            # The same exact rationals as JSON give the same again.
            path = weights_json(tmp_path, exact_rows(W))
            again = cli("loss", "--act", act, "--p", p, "--density", "1/5", "--weights", path, "--json")
            same_exact(got, again)


def test_three_d_gives_one_record_per_instance(tmp_path):
    rng = np.random.default_rng(2)
    W = (rng.normal(size=(4, 2, 5)) * 0.5).astype(np.float32)
    b = (rng.normal(size=(4, 5)) * 0.1).astype(np.float32)
    np.savez(tmp_path / "w.npz", W=W, b=b)
    expected = cli("loss", "--act", "power", "--p", "2", "--density", "1/10",
                   "--weights", tmp_path / "w.npz", "--json")
    got = superbound.loss(W, act="power", p=2, density="1/10", b=b)
    assert isinstance(got, list) and len(got) == 4
    for k in range(4):
        assert got[k]["instance"] == k
        same_exact(got[k], expected[k])
        one = superbound.loss(W[k], act="power", p=2, density="1/10", b=b[k])
        assert one["value"] == got[k]["value"]


def test_safetensors_file_equals_numpy_input(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    W = np.array([[0.3, -0.2, 0.9], [0.1, 0.4, -0.6]], dtype=np.float32)
    safetensors_numpy.save_file({"encoder.weight": W}, str(tmp_path / "m.safetensors"))
    expected = cli("loss", "--act", "rect", "--p", "1", "--density", "1/4", "--weights",
                   tmp_path / "m.safetensors", "--tensor", "W=encoder.weight", "--json")
    same_exact(superbound.loss(W, act="rect", p=1, density="1/4"), expected)


def test_bounds_and_optimize_equal_cli():
    expected = cli("bounds", "--act", "power", "--p", "2", "--n", "6", "--m", "3",
                   "--density", "1/100", "--json")
    assert superbound.bounds("power", 2, 6, 3, density=Fraction(1, 100)) == expected
    expected = cli("bounds", "--act", "rect", "--p", "1", "--n", "4", "--m", "2",
                   "--importance", "1,1/2,1/4,1/8", "--json")
    got = superbound.bounds("rect", 1, 4, 2, importance=[1, Fraction(1, 2), "1/4", 0.125])
    assert got == expected
    expected = cli("optimize", "--act", "rect", "--p", "1", "--n", "3", "--m", "2",
                   "--first-order", "--restarts", "2", "--seed", "7", "--json")
    got = superbound.optimize("rect", 1, 3, 2, restarts=2, seed=7)
    assert got["value"] == expected["value"]
    assert got["W"] == expected["W"]


def test_check_a_witness(tmp_path):
    # W = [[1/2]], power p = 1: L1 = 3/16 (by hand, as above).
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"activation": "power", "p": 1, "values": "uniform",
                                "W": [["1/2"]], "value": "3/16"}))
    r = superbound.check(good)
    assert r["verified"] is True
    assert "3/16" in r["report"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"activation": "power", "p": 1, "values": "uniform",
                               "W": [["1/2"]], "value": "1/5"}))
    with pytest.raises(ValueError, match="refused"):
        superbound.check(bad)


@pytest.mark.parametrize("W,kwargs,message", [
    (np.array([[0.1, np.nan]]), {}, "NaN"),
    (np.array([[np.inf, 0.0]], dtype=np.float32), {}, "infinite"),
    (np.ones((2, 2), dtype=complex), {}, "not a float"),
    (np.array([["a", "b"]]), {}, "not a float"),
    (np.ones(3), {}, "rank 1"),
    (np.ones((1, 1, 2, 2)), {}, "rank 4"),
    ([[1, 2], [3]], {}, "ragged"),
    ([[1, "x"]], {}, "W[0][1]"),
    ([[1, None]], {}, "W[0][1]"),
    ([[True, 1]], {}, "bool"),
    ("W", {}, "NumPy array or nested lists"),
    ([[1, 2]], {"b": [1, 2, 3]}, "b has shape"),
    ([[1, 2]], {"importance": [1, -1]}, "negative"),
    ([[1, 2]], {"act": "relu"}, "act"),
    ([[1, 2]], {"p": 0}, "p"),
    ([[1, 2]], {"density": 2}, "density"),
    ([[1, 2]], {"density": float("nan")}, "density"),
    ([[1, 2]], {"b": [1, 0]}, "no first-order"),
])
def test_errors_raise_value_error_with_one_line(W, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        superbound.loss(W, **{"act": "rect", "p": 1, **kwargs})
    assert "\n" not in str(info.value)


def test_cli_usage_errors_raise_value_error():
    with pytest.raises(ValueError) as info:
        superbound.bounds("power", 2, 0, 3)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError):
        superbound.optimize("power", 2, 3, 2, method="nope")
