//! Every proof file names code and tests that exist: a renamed function or test breaks the build
//! of trust, so it breaks `cargo test`.

use std::path::{Path, PathBuf};

fn proof_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            proof_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md")
            && path.file_name().unwrap() != "README.md"
        {
            out.push(path);
        }
    }
}

/// Whether `file` (relative to the crate root) defines `item` (a fn, type, trait or constant).
fn defines(root: &Path, file: &str, item: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
    let patterns = [
        "fn ", "struct ", "enum ", "trait ", "const ", "type ", "mod ",
    ];
    let found = text.lines().any(|line| {
        patterns.iter().any(|p| {
            line.split(p).skip(1).any(|rest| {
                rest.starts_with(item)
                    && !rest[item.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
    });
    if found {
        Ok(())
    } else {
        Err(format!("{file} defines no `{item}`"))
    }
}

/// The `- code: FILE::ITEM` and `- test: FILE::ITEM` lines of a proof file.
fn references(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (kind, rest) = l
                .strip_prefix("- code: ")
                .map(|r| ("code", r))
                .or_else(|| l.strip_prefix("- test: ").map(|r| ("test", r)))?;
            let (file, item) = rest.trim().split_once("::")?;
            Some((kind.to_string(), file.to_string(), item.to_string()))
        })
        .collect()
}

#[test]
fn proofs_name_existing_code_and_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    proof_files(&root.join("proofs"), &mut files);
    assert!(
        files.len() >= 10,
        "expected a proof file per result, found {}",
        files.len()
    );
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let refs = references(&text);
        let name = f.strip_prefix(root).unwrap().display().to_string();
        if !refs.iter().any(|r| r.0 == "code") || !refs.iter().any(|r| r.0 == "test") {
            problems.push(format!(
                "{name}: needs at least one `- code:` and one `- test:` line"
            ));
        }
        for (kind, file, item) in refs {
            if kind == "test" && !file.starts_with("tests/") {
                problems.push(format!("{name}: test reference {file} is not under tests/"));
            }
            if let Err(e) = defines(root, &file, &item) {
                problems.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "proof references broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_a_missing_item() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(defines(root, "src/kernel/closed_form.rs", "theorem1_first_order").is_ok());
    assert!(
        defines(root, "src/kernel/closed_form.rs", "theorem1_first").is_err(),
        "a prefix is not a name"
    );
    assert!(defines(root, "src/bounds.rs", "no_such_function").is_err());
    assert!(defines(root, "src/no_such_file.rs", "x").is_err());
    let refs = references("- code: src/a.rs::f\n- test: tests/b.rs::g\nother");
    assert_eq!(refs.len(), 2);
}
