//! The first-order grid (both activations, p = 1..4, n = 2..12, m = 2..4: 264 rows) as a
//! regression artefact: `tests/golden/grid/` holds the table in exact rationals
//! (`table.csv`) and every row's evidence, written by
//! `superbound table --act power,rect --p 1..4 --n 2..12 --m 2..4 --density 0 --evidence DIR`.
//! The default test re-verifies the evidence with the kernel (the `check DIR` logic) and the
//! number of certified rows; the ignored test recomputes the whole grid and compares every column
//! (`UPDATE_GOLDEN=1` rewrites the directory).

use num_rational::BigRational;
use superbound::kernel::evidence::verify_row;
use superbound::kernel::model::{Activation, Values};
use superbound::report::table::{COLUMNS, Grid, Row, RunOptions, parse_densities, parse_rows, run};

const DIR: &str = "tests/golden/grid";

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR)
}

fn grid() -> Grid {
    Grid {
        acts: vec![Activation::Power, Activation::Rect],
        ps: vec![1, 2, 3, 4],
        ns: (2..=12).collect(),
        ms: vec![2, 3, 4],
        densities: parse_densities("0").unwrap(),
        values: Values::Uniform,
        bias: false,
        importance: None,
    }
}

fn rat(s: &str) -> BigRational {
    superbound::kernel::arith::parse_rational(s).unwrap()
}

fn golden_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("table.csv")).expect("the grid is committed");
    parse_rows(&text, "grid").unwrap()
}

/// Every row's evidence verified by the kernel alone; the table's values, `certified` flags and
/// the grid's keys agree with it; at least the 198 rows stated in the README are certified.
#[test]
fn grid_evidence_is_reverified() {
    let rows = golden_rows();
    let specs = grid().specs();
    assert_eq!(rows.len(), 264);
    assert_eq!(
        rows.iter().map(|r| r.key()).collect::<Vec<_>>(),
        specs.iter().map(|s| s.key()).collect::<Vec<_>>()
    );
    let mut certified = 0;
    for (row, spec) in rows.iter().zip(&specs) {
        let path = dir().join(spec.evidence_name());
        let text = std::fs::read_to_string(&path).unwrap();
        let v = verify_row(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(v.lower, rat(row.get("lower")), "{}", row.key());
        assert_eq!(v.upper, rat(row.get("upper")), "{}", row.key());
        assert_eq!(
            v.certified.to_string(),
            row.get("certified"),
            "{}",
            row.key()
        );
        // certified means lower and upper agree to 1e-9 relative (checked independently here).
        let (lo, up) = (rat(row.get("lower")), rat(row.get("upper")));
        let by_hand = lo == up || (lo > rat("0") && (&up - &lo) / &lo <= rat("1/1000000000"));
        assert_eq!(by_hand, v.certified, "{}", row.key());
        certified += usize::from(v.certified);
    }
    // The figure the README states (198 of 264, 75.0%; the aim of 80% is not met): it
    // may only rise.
    assert!(
        certified >= 198,
        "{certified} of {} certified (was 198)",
        rows.len()
    );
}

/// The rectified rows `(12, 3, p)`, `p = 2, 3, 4`: the icosahedron's first-order value, from its
/// cosines alone (each vector has 5 neighbours at cosine `1/sqrt 5`, 5 at `-1/sqrt 5` and one at
/// `-1`), so `sum_{j != i} max(t_ij, 0)^{2p} = 5^{1-p}` and, at the best common norm,
/// `L1 = n mu_2 - n c_p / (1 + 5^{1-p})`: `7/8`, `10/13`, `43/42`. The certified lower bound is at
/// most that value (else the certificate would contradict a configuration) and within `1e-15`
/// relative of it; the stored witness is within `1e-9` above it.
#[test]
fn icosahedron_rows_are_certified() {
    let rows = golden_rows();
    for (p, value) in [(2u32, "7/8"), (3, "10/13"), (4, "43/42")] {
        let (n, mu2) = (rat("12"), rat("1/3"));
        let cp = rat(&format!("{}/{}", 2 * p + 1, (p + 2) * (p + 2)));
        let five = rat(&format!("1/{}", 5u64.pow(p - 1)));
        let ico = &n * &mu2 - &n * &cp / (rat("1") + five);
        assert_eq!(ico, rat(value));
        let key = format!("rect,{p},12,3,uniform,b=0 I=equal,0");
        let row = rows.iter().find(|r| r.key() == key).expect("row");
        let (lo, up) = (rat(row.get("lower")), rat(row.get("upper")));
        assert_eq!(row.get("certified"), "true", "{key}");
        assert!(lo <= ico, "{key}: lower {lo} above the icosahedron's {ico}");
        assert!(
            (&ico - &lo) / &ico <= rat("1/1000000000000000"),
            "{key}: lower {lo}"
        );
        assert!(
            up >= ico && (&up - &ico) / &ico <= rat("1/1000000000"),
            "{key}: upper {up}"
        );
    }
}

/// The binary's `check DIR` agrees.
#[test]
fn check_accepts_the_grid() {
    let out = assert_cmd::Command::cargo_bin("superbound")
        .unwrap()
        .arg("check")
        .arg(dir())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("264 row evidence files verified"), "{text}");
    assert!(text.contains("264 of 264 rows match"), "{text}");
}

/// Recomputes the grid (a few minutes on two cores) and compares every column with the golden
/// table; `UPDATE_GOLDEN=1` rewrites table.csv and the evidence.
#[test]
#[ignore]
fn grid_table_regenerates() {
    let tmp = std::env::temp_dir().join(format!("superbound-grid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let fresh = run(
        &grid().specs(),
        &RunOptions {
            evidence: Some(&tmp),
            ..Default::default()
        },
    )
    .unwrap();
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        let _ = std::fs::remove_dir_all(dir());
        std::fs::create_dir_all(dir()).unwrap();
        for e in std::fs::read_dir(&tmp).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir().join(e.file_name())).unwrap();
        }
        let csv = superbound::report::table::render(&fresh, "csv", &serde_json::json!({})).unwrap();
        std::fs::write(dir().join("table.csv"), csv).unwrap();
    }
    let stored = golden_rows();
    let mut problems = Vec::new();
    for (o, r) in stored.iter().zip(&fresh) {
        for c in COLUMNS {
            if o.get(c) != r.get(c) {
                problems.push(format!(
                    "row {}: column {c} changed from {:?} to {:?}",
                    r.key(),
                    o.get(c),
                    r.get(c)
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(stored.len(), fresh.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
