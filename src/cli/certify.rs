//! `superbound certify`.

use super::*;

#[derive(Args, Debug)]
pub struct CertifyArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Degree of the LP polynomial (default: adaptive, d = max(12, 2p), then d + 4 and d + 8
    /// while the certified bound rises by more than 1e-12 relative).
    #[arg(long, conflicts_with = "spectral")]
    degree: Option<usize>,
    /// The spectral bound instead of the LP (rect, p = 1, n > m; proofs/spectral-bound.md).
    #[arg(long)]
    spectral: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the certificate file.
    #[arg(long)]
    save: Option<PathBuf>,
}

pub fn certify_command(args: &CertifyArgs) -> Result<String> {
    use crate::search::lp::{certify, certify_adaptive};
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    if args.spectral {
        return spectral_certificate(args, &st);
    }
    // Without --degree the degree is chosen adaptively (12, 16, 20 while the bound rises).
    let cert = match args.degree {
        Some(d) => certify(&st, d)?,
        None => certify_adaptive(&st)?,
    };
    let degree = cert.degree();
    let what = format!(
        "LP certificate of degree {degree}, verified exactly (q_k >= 0, f - q >= 0 on [-1, 1] by two independent exact methods)"
    );
    emit(args, &st, cert.to_json(), &cert.lower, &what)
}

/// Saves the certificate (`--save`) and prints it (`--json`) or says what was verified.
fn emit(
    args: &CertifyArgs,
    st: &Setting,
    file: serde_json::Value,
    lower: &BigRational,
    what: &str,
) -> Result<String> {
    if let Some(path) = &args.save {
        std::fs::write(path, format!("{file}\n"))
            .map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    if args.json {
        let mut v = file;
        v["float"] = json!(lower.to_f64());
        v["verified"] = json!(true);
        return Ok(format!("{v}\n"));
    }
    Ok(format!(
        "model: {}; n = {} features, m = {} hidden dimensions\n{what}\nL1 >= {}\n",
        st.model,
        st.n,
        st.m,
        exact_text(lower)
    ))
}

/// `certify --spectral`: the spectral certificate, verified by the kernel.
fn spectral_certificate(args: &CertifyArgs, st: &Setting) -> Result<String> {
    let cert = crate::search::spectral::certify(st)?;
    let what = format!(
        "spectral certificate of {} pieces, verified exactly (each cubic minimum by two independent exact methods, rho in [0, R] covered)",
        cert.pieces.len()
    );
    emit(args, st, cert.to_json(), &cert.lower, &what)
}
