//! The `larum-engine` binary: Alertmanager's flags, the server, and offline subcommands.

mod flags;
mod run;

use std::process::ExitCode;

use clap::Parser;

use flags::{Cli, Command, RoutesCommand, TemplateCommand};
use larum_engine::cli;
use larum_engine::config::Config;
use larum_engine::dispatch::RouteNode;

/// jemalloc: faster small allocations on the ingest path than glibc's malloc, with a
/// comparable RSS (see BENCHMARKS.md, method).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = match cli.run.parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("larum-engine: error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        None => run::run(cli.run, options),
        Some(Command::Template {
            command:
                TemplateCommand::Render {
                    globs,
                    text,
                    template_type,
                    data,
                },
        }) => {
            let request = cli::template_render::RenderRequest {
                globs,
                text,
                mode: if template_type == "html" {
                    larum_engine::template::Mode::Html
                } else {
                    larum_engine::template::Mode::Text
                },
                data,
            };
            match cli::template_render::render(&request) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("larum-engine: error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::CheckConfig { files }) => {
            let mut stdout = std::io::stdout().lock();
            match cli::check_config::check_files(&files, options, &mut stdout) {
                Ok(0) => ExitCode::SUCCESS,
                Ok(failed) => {
                    eprintln!("larum-engine: error: failed to validate {failed} file(s)");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("larum-engine: error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Routes {
            config_file,
            command,
        }) => {
            let loaded = match Config::load_file(&config_file, options) {
                Ok(loaded) => loaded,
                Err(e) => {
                    eprintln!("larum-engine: error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let root = RouteNode::new(loaded.config.root_route());
            match command.unwrap_or(RoutesCommand::Show) {
                RoutesCommand::Show => {
                    print!("{}", cli::routes::show(&root));
                    ExitCode::SUCCESS
                }
                RoutesCommand::Test {
                    verify_receivers,
                    tree,
                    labels,
                } => {
                    let labels = match cli::routes::parse_labels(&labels) {
                        Ok(labels) => labels,
                        Err(e) => {
                            eprintln!("larum-engine: error: {e}");
                            return ExitCode::FAILURE;
                        }
                    };
                    if tree {
                        println!("{}", cli::routes::matching_tree(&root, &labels));
                    }
                    let receivers = cli::routes::test(&root, &labels);
                    println!("{receivers}");
                    match verify_receivers {
                        Some(expected) if expected != receivers => {
                            println!(
                                "WARNING: Expected receivers did not match resolved receivers."
                            );
                            ExitCode::FAILURE
                        }
                        _ => ExitCode::SUCCESS,
                    }
                }
            }
        }
    }
}
