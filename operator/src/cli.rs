//! Command line: `run` (the controller) and `crds` (write the CRD files).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Larum's Kubernetes operator.
#[derive(Parser, Debug)]
#[command(name = "larum-operator", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write the CustomResourceDefinitions as YAML files.
    Crds {
        /// Directory to write into.
        #[arg(long, default_value = "crds")]
        dir: PathBuf,
    },
    /// Run the controller.
    Run(Box<crate::controller::RunArgs>),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crds { dir } => {
            for path in crate::crd::write_all(&dir)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Run(args) => crate::controller::run(*args).await,
    }
}
