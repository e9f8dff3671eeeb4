//! `loss --weights` on NumPy (.npy, .npz) and safetensors files: the loss of the floats read
//! equals the loss of the same exact rationals written as JSON; 3-D arrays give one result per
//! instance; bad files get one line and a non-zero exit, never a panic.
//!
//! Files are written with the crates' own writers (npyz, zip, safetensors). The exact rationals
//! of the floats are computed here independently, from the IEEE 754 bit layout.

use assert_cmd::Command;
use npyz::WriterBuilder;
use num_bigint::BigInt;
use std::io::Write;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("superbound").unwrap()
}

/// A fresh directory for one test's files.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("superbound-wf-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The exact value of an `f32` from its bits: `(-1)^s * M * 2^(E - 150)`, as `"a/b"` (reduced by
/// taking powers of two out of the mantissa).
fn f32_exact(x: f32) -> String {
    let bits = x.to_bits();
    let sign = if bits >> 31 == 1 { "-" } else { "" };
    let exp = ((bits >> 23) & 0xff) as i64;
    let frac = (bits & 0x7f_ffff) as u64;
    let (mant, e) = if exp == 0 {
        (frac, -149)
    } else {
        (frac | 0x80_0000, exp - 150)
    };
    dyadic(sign, mant, e)
}

/// The exact value of an `f64` from its bits: `(-1)^s * M * 2^(E - 1075)`.
fn f64_exact(x: f64) -> String {
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & 0xf_ffff_ffff_ffff;
    let (mant, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | 0x10_0000_0000_0000, exp - 1075)
    };
    dyadic(sign, mant, e)
}

fn dyadic(sign: &str, mut mant: u64, mut e: i64) -> String {
    if mant == 0 {
        return "0".into();
    }
    while mant.is_multiple_of(2) && e < 0 {
        mant /= 2;
        e += 1;
    }
    if e >= 0 {
        format!("{sign}{}", BigInt::from(mant) << (e as usize))
    } else {
        format!("{sign}{mant}/{}", BigInt::from(1) << ((-e) as usize))
    }
}

#[test]
fn the_independent_decoder_agrees_with_hand_values() {
    assert_eq!(f32_exact(0.1), "13421773/134217728");
    assert_eq!(f32_exact(-0.75), "-3/4");
    assert_eq!(f32_exact(3.0), "3");
    assert_eq!(f64_exact(0.1), "3602879701896397/36028797018963968");
    assert_eq!(f64_exact(1.0 / 3.0), "6004799503160661/18014398509481984");
}

/// An `.npy` file's bytes: `data` in C order with `shape`.
fn npy_bytes<T: npyz::AutoSerialize + Copy>(shape: &[u64], data: &[T]) -> Vec<u8> {
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend(data.iter().copied()).unwrap();
        w.finish().unwrap();
    }
    buf
}

/// An `.npz` archive of `(name, npy bytes)` members.
fn npz_bytes(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        zw.start_file(format!("{name}.npy"), opts).unwrap();
        zw.write_all(bytes).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

fn le_f32(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_f64(data: &[f64]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A `.safetensors` file of `(name, dtype, shape, little-endian bytes)` tensors.
fn safetensors_bytes(tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(name, dt, shape, data)| {
            (
                name.to_string(),
                safetensors::tensor::TensorView::new(*dt, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The JSON weights file of exact strings: `w` rows, optional `b` and `importance`.
fn json_file(
    dir: &Path,
    name: &str,
    w: &[Vec<String>],
    b: Option<&[String]>,
    imp: Option<&[String]>,
) -> PathBuf {
    let mut obj = serde_json::json!({ "W": w });
    if let Some(b) = b {
        obj["b"] = serde_json::json!(b);
    }
    if let Some(i) = imp {
        obj["importance"] = serde_json::json!(i);
    }
    write(dir, name, obj.to_string().as_bytes())
}

/// `loss --json` on `path` with extra options; the parsed output.
fn loss_json(act: &str, p: &str, density: &str, path: &Path, extra: &[&str]) -> serde_json::Value {
    let out = bin()
        .args([
            "loss",
            "--act",
            act,
            "--p",
            p,
            "--density",
            density,
            "--json",
        ])
        .arg("--weights")
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The exact fields of a loss record (everything but how the weights were read).
fn exact_fields(v: &serde_json::Value) -> Vec<serde_json::Value> {
    [
        "loss",
        "first_order",
        "s1_coefficient",
        "density_polynomial",
        "n",
        "m",
    ]
    .iter()
    .map(|k| v.get(*k).cloned().unwrap_or(serde_json::Value::Null))
    .collect()
}

const W32: [f32; 6] = [0.1, -0.75, 0.3, 0.5, 0.2, -1.0 / 3.0];
const W64: [f64; 6] = [0.1, -0.75, 0.3, 0.5, 0.2, -1.0 / 3.0];

fn rows<T: Copy>(data: &[T], cols: usize, exact: fn(T) -> String) -> Vec<Vec<String>> {
    data.chunks(cols)
        .map(|r| r.iter().map(|&x| exact(x)).collect())
        .collect()
}

#[test]
fn npy_float32_and_float64_equal_their_exact_rationals_in_json() {
    let dir = temp_dir("npy");
    let f32_file = write(&dir, "w32.npy", &npy_bytes(&[2, 3], &W32));
    let f64_file = write(&dir, "w64.npy", &npy_bytes(&[2, 3], &W64));
    let j32 = json_file(&dir, "w32.json", &rows(&W32, 3, f32_exact), None, None);
    let j64 = json_file(&dir, "w64.json", &rows(&W64, 3, f64_exact), None, None);
    for (act, p) in [("power", "1"), ("power", "2"), ("rect", "1"), ("rect", "2")] {
        let a = loss_json(act, p, "1/10", &f32_file, &[]);
        let b = loss_json(act, p, "1/10", &j32, &[]);
        assert_eq!(exact_fields(&a), exact_fields(&b), "{act} {p} f32");
        assert_eq!(a["weights"], "float32 read exactly as binary fractions");
        assert!(b.get("weights").is_none());
        let a = loss_json(act, p, "1/10", &f64_file, &[]);
        let b = loss_json(act, p, "1/10", &j64, &[]);
        assert_eq!(exact_fields(&a), exact_fields(&b), "{act} {p} f64");
        assert_eq!(a["weights"], "float64 read exactly as binary fractions");
    }
    // float32 and float64 of "the same" decimals are different rationals, so different losses.
    let a = loss_json("power", "1", "1/10", &f32_file, &[]);
    let b = loss_json("power", "1", "1/10", &f64_file, &[]);
    assert_ne!(a["loss"], b["loss"]);
    // Text output says how the floats were read.
    bin()
        .args(["loss", "--act", "power", "--p", "1", "--density", "1/2"])
        .arg("--weights")
        .arg(&f32_file)
        .assert()
        .success()
        .stdout(predicates::str::starts_with(
            "weights: float32 read exactly as binary fractions\n",
        ));
}

#[test]
fn a_one_entry_w_has_the_hand_computed_loss() {
    // W = [[0.1f32]] (n = m = 1), power p = 1: L1 = mu_2 - 2 mu_2 d + mu_2 d^2 = (1 - d)^2 / 3
    // with d = w^2, w = 13421773/2^27.
    let dir = temp_dir("hand");
    let f = write(&dir, "one.npy", &npy_bytes(&[1, 1], &[0.1f32]));
    let v = loss_json("power", "1", "1/2", &f, &[]);
    let w = BigInt::from(13421773);
    let den = BigInt::from(1) << 54usize; // (2^27)^2
    let num = &den - &w * &w; // (1 - d) * 2^54
    let l1_num = &num * &num;
    let l1_den = BigInt::from(3) * &den * &den;
    let g = num_integer::Integer::gcd(&l1_num, &l1_den);
    let expected = format!("{}/{}", l1_num / &g, l1_den / &g);
    assert_eq!(v["first_order"], expected.as_str());
}

#[test]
fn npz_with_bias_and_importance_equals_json() {
    let dir = temp_dir("npz");
    let b = [0.25f64, -0.5, 0.1];
    let imp = [1.0f64, 0.5, 0.25];
    for deflate in [false, true] {
        let f = write(
            &dir,
            "w.npz",
            &npz_bytes(
                &[
                    ("W", npy_bytes(&[2, 3], &W64)),
                    ("b", npy_bytes(&[3], &b)),
                    ("importance", npy_bytes(&[3], &imp)),
                ],
                deflate,
            ),
        );
        let bs: Vec<String> = b.iter().map(|&x| f64_exact(x)).collect();
        let is: Vec<String> = imp.iter().map(|&x| f64_exact(x)).collect();
        let j = json_file(
            &dir,
            "w.json",
            &rows(&W64, 3, f64_exact),
            Some(&bs),
            Some(&is),
        );
        for (act, p) in [("power", "2"), ("rect", "1")] {
            let a = loss_json(act, p, "1/3", &f, &[]);
            let e = loss_json(act, p, "1/3", &j, &[]);
            assert_eq!(
                exact_fields(&a),
                exact_fields(&e),
                "{act} {p} deflate {deflate}"
            );
            assert!(a["loss"].is_string());
        }
    }
    // Member names chosen with --tensor.
    let f = write(
        &dir,
        "named.npz",
        &npz_bytes(&[("enc", npy_bytes(&[2, 3], &W64))], false),
    );
    let j = json_file(&dir, "plain.json", &rows(&W64, 3, f64_exact), None, None);
    let a = loss_json("power", "1", "1/3", &f, &["--tensor", "W=enc"]);
    let e = loss_json("power", "1", "1/3", &j, &[]);
    assert_eq!(exact_fields(&a), exact_fields(&e));
}

#[test]
fn safetensors_state_dict_equals_json() {
    use safetensors::Dtype;
    let dir = temp_dir("st");
    let b = [0.0f32, -0.125, 0.3];
    let f = write(
        &dir,
        "model.safetensors",
        &safetensors_bytes(&[
            ("encoder.weight", Dtype::F32, vec![2, 3], le_f32(&W32)),
            ("encoder.bias", Dtype::F32, vec![3], le_f32(&b)),
            ("other", Dtype::I64, vec![1], vec![0; 8]),
        ]),
    );
    let bs: Vec<String> = b.iter().map(|&x| f32_exact(x)).collect();
    let j = json_file(&dir, "w.json", &rows(&W32, 3, f32_exact), Some(&bs), None);
    for (act, p) in [("power", "1"), ("power", "3"), ("rect", "1")] {
        let a = loss_json(
            act,
            p,
            "1/10",
            &f,
            &["--tensor", "W=encoder.weight,b=encoder.bias"],
        );
        let e = loss_json(act, p, "1/10", &j, &[]);
        assert_eq!(exact_fields(&a), exact_fields(&e), "{act} {p}");
    }
    // Default names W and b, float64.
    let f = write(
        &dir,
        "plain.safetensors",
        &safetensors_bytes(&[("W", Dtype::F64, vec![2, 3], le_f64(&W64))]),
    );
    let j = json_file(&dir, "w64.json", &rows(&W64, 3, f64_exact), None, None);
    let a = loss_json("rect", "2", "1/5", &f, &[]);
    let e = loss_json("rect", "2", "1/5", &j, &[]);
    assert_eq!(exact_fields(&a), exact_fields(&e));
    // No tensor W: the error lists what the file holds.
    bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(dir.join("model.safetensors"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no tensor \"W\" (the file holds: \"encoder.bias\", \"encoder.weight\", \"other\")",
        ));
}

#[test]
fn three_d_arrays_give_one_record_per_instance() {
    let dir = temp_dir("3d");
    // 3 instances of (m, n) = (2, 3); a bias per instance.
    let data: Vec<f64> = (0..18).map(|k| ((k * 7 % 11) as f64 - 5.0) / 8.0).collect();
    let bias: Vec<f64> = (0..9).map(|k| (k as f64 - 4.0) / 16.0).collect();
    let f = write(
        &dir,
        "inst.npz",
        &npz_bytes(
            &[
                ("W", npy_bytes(&[3, 2, 3], &data)),
                ("b", npy_bytes(&[3, 3], &bias)),
            ],
            false,
        ),
    );
    let one = write(&dir, "inst.npy", &npy_bytes(&[3, 2, 3], &data));
    // The same W stored as (instances, n, m), read with --transpose.
    let mut tdata = vec![0.0; 18];
    for k in 0..3 {
        for r in 0..2 {
            for c in 0..3 {
                tdata[k * 6 + c * 2 + r] = data[k * 6 + r * 3 + c];
            }
        }
    }
    let tfile = write(&dir, "inst_t.npy", &npy_bytes(&[3, 3, 2], &tdata));
    for (act, p) in [("power", "2"), ("rect", "1")] {
        let all = loss_json(act, p, "1/4", &f, &[]);
        let all = all.as_array().expect("an array of records");
        assert_eq!(all.len(), 3);
        let plain = loss_json(act, p, "1/4", &one, &[]);
        let transposed = loss_json(act, p, "1/4", &tfile, &["--transpose"]);
        for k in 0..3 {
            let w = rows(&data[k * 6..k * 6 + 6], 3, f64_exact);
            let bs: Vec<String> = bias[k * 3..k * 3 + 3]
                .iter()
                .map(|&x| f64_exact(x))
                .collect();
            let j = json_file(&dir, &format!("i{k}.json"), &w, Some(&bs), None);
            let e = loss_json(act, p, "1/4", &j, &[]);
            assert_eq!(all[k]["instance"], k);
            assert_eq!(
                exact_fields(&all[k]),
                exact_fields(&e),
                "{act} {p} instance {k}"
            );
            let j = json_file(&dir, &format!("n{k}.json"), &w, None, None);
            let e = loss_json(act, p, "1/4", &j, &[]);
            assert_eq!(exact_fields(&plain[k]), exact_fields(&e));
            assert_eq!(exact_fields(&transposed[k]), exact_fields(&e));
        }
    }
    // Text: one block per instance.
    let out = bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&one)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("3 instances"));
    assert_eq!(text.matches("\ninstance ").count(), 3);
}

/// `loss` on the file refuses it with one line naming `expect`, exit code 1.
fn refused(path: &Path, extra: &[&str], expect: &str) {
    let out = bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}: {err}", path.display());
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("superbound: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(expect),
        "{}: {err} lacks {expect:?}",
        path.display()
    );
}

#[test]
fn bad_files_are_refused_with_one_line() {
    use safetensors::Dtype;
    let dir = temp_dir("bad");
    let good = npy_bytes(&[2, 3], &W32);
    let f = |name: &str, bytes: &[u8]| write(&dir, name, bytes);
    refused(
        &f("int.npy", &npy_bytes(&[2, 3], &[1i64, 2, 3, 4, 5, 6])),
        &[],
        "integer type",
    );
    refused(
        &f("u8.npy", &npy_bytes(&[2, 3], &[1u8, 2, 3, 4, 5, 6])),
        &[],
        "integer type",
    );
    refused(
        &f(
            "nan.npy",
            &npy_bytes(&[2, 3], &[0.1f32, f32::NAN, 0.0, 0.0, 0.0, 0.0]),
        ),
        &[],
        "entry [0][1] is NaN",
    );
    refused(
        &f(
            "inf.npy",
            &npy_bytes(&[2, 3], &[0.1f64, 0.0, 0.0, 0.0, 0.0, f64::NEG_INFINITY]),
        ),
        &[],
        "entry [1][2] is -infinite",
    );
    refused(
        &f("rank1.npy", &npy_bytes(&[3], &[1.0f32, 2.0, 3.0])),
        &[],
        "rank 1",
    );
    refused(
        &f("rank4.npy", &npy_bytes(&[1, 1, 2, 3], &W32)),
        &[],
        "rank 4",
    );
    refused(
        &f("empty.npy", &npy_bytes::<f32>(&[0, 3], &[])),
        &[],
        "at least 1",
    );
    refused(&f("trunc.npy", &good[..good.len() - 3]), &[], "truncated");
    refused(&f("header.npy", &good[..20]), &[], "not a valid .npy");
    refused(
        &f("ext.npy", b"\x93NUMPY garbage garbage"),
        &[],
        "not a valid .npy",
    );
    // A header claiming an enormous shape: refused before any allocation.
    let mut huge = good.clone();
    let key = b"'shape': (";
    let at = huge.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    assert_eq!(huge[at], b'2');
    huge[at] = b'9';
    refused(&f("short.npy", &huge), &[], "truncated");
    // npz: missing key, bad member, shape mismatch, truncated archive.
    refused(
        &f("nokey.npz", &npz_bytes(&[("V", good.clone())], false)),
        &[],
        "no array \"W\" (the archive holds: V)",
    );
    refused(
        &f(
            "badb.npz",
            &npz_bytes(
                &[("W", good.clone()), ("b", npy_bytes(&[2], &[0.0f32, 1.0]))],
                false,
            ),
        ),
        &[],
        "b has shape [2]",
    );
    refused(
        &f(
            "negimp.npz",
            &npz_bytes(
                &[
                    ("W", good.clone()),
                    ("importance", npy_bytes(&[3], &[1.0f32, -1.0, 1.0])),
                ],
                false,
            ),
        ),
        &[],
        "importance entry [1] is negative",
    );
    refused(
        &f("cplx.npz", &npz_bytes(&[("W", complex_npy())], true)),
        &[],
        "complex type",
    );
    let z = npz_bytes(&[("W", good.clone())], false);
    refused(&f("trunc.npz", &z[..z.len() / 2]), &[], "not a valid .npz");
    // safetensors: unsupported dtype, truncated, missing named bias.
    let st = safetensors_bytes(&[("W", Dtype::F32, vec![2, 3], le_f32(&W32))]);
    refused(
        &f("trunc.safetensors", &st[..st.len() - 4]),
        &[],
        "not a valid safetensors",
    );
    refused(
        &f(
            "int.safetensors",
            &safetensors_bytes(&[("W", Dtype::I32, vec![2, 3], vec![0; 24])]),
        ),
        &[],
        "dtype I32 is not read",
    );
    refused(
        &f("ok.safetensors", &st),
        &["--tensor", "b=bias"],
        "no tensor \"bias\" for b",
    );
    refused(
        &f("ok2.safetensors", &st),
        &["--tensor", "x=y"],
        "unknown key",
    );
    // .npy holds W only; --transpose is for arrays.
    refused(&f("w.npy", &good), &["--tensor", "W=x"], "W only");
    refused(
        &f("w.json", br#"{"W": [[1, 2]]}"#),
        &["--transpose"],
        "--transpose is for NumPy",
    );
}

/// A complex128 (2, 3) array: a version 1.0 header (npyz writes complex only with a feature
/// not enabled here) and 96 zero bytes.
fn complex_npy() -> Vec<u8> {
    let mut h = "{'descr': '<c16', 'fortran_order': False, 'shape': (2, 3), }".to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut buf = b"\x93NUMPY\x01\x00".to_vec();
    buf.extend_from_slice(&(h.len() as u16).to_le_bytes());
    buf.extend_from_slice(h.as_bytes());
    buf.extend_from_slice(&[0u8; 96]);
    buf
}
