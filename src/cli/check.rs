//! `superbound check`.

use super::*;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A certificate file written by `certify --save`.
    file: PathBuf,
}

pub fn check_command(args: &CheckArgs) -> Result<String> {
    use crate::kernel::certificate::{Certificate, verify};
    let text = read_file(&args.file)?;
    let cert = Certificate::from_json(&text)
        .map_err(|e| Error::input(format!("{}: {e}", args.file.display())))?;
    let bound = verify(&cert)
        .map_err(|e| Error::input(format!("{}: refused: {e}", args.file.display())))?;
    Ok(format!(
        "{}: verified: {} n = {}, m = {}: L1 >= {}\n",
        args.file.display(),
        cert.setting.model,
        cert.setting.n,
        cert.setting.m,
        exact_text(&bound)
    ))
}
