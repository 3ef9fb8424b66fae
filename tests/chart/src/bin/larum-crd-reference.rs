//! `larum-crd-reference [CRD_DIR] [OUT]`: writes the markdown CRD reference
//! (default: `crds/` into `docs/crd-reference.md`; `make crd-reference`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "crds".into()));
    let out = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "docs/crd-reference.md".into()),
    );
    match larum_chart_tests::crd_doc::reference(&dir) {
        Ok(text) => match std::fs::write(&out, text) {
            Ok(()) => {
                println!("wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("larum-crd-reference: {}: {e}", out.display());
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("larum-crd-reference: {e}");
            ExitCode::FAILURE
        }
    }
}
