//! Command-line flags, with Alertmanager's names and defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use larum_engine::config::{ParseMode, ParseOptions};

/// larum-engine: a drop-in Alertmanager.
#[derive(Parser, Debug)]
#[command(
    name = "larum-engine",
    version,
    about,
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    /// Offline commands; without one, the engine runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of the running engine.
    #[command(flatten)]
    pub run: RunFlags,
}

/// Flags of the engine process.
#[derive(Args, Debug, Clone)]
pub struct RunFlags {
    /// Alertmanager configuration file name.
    #[arg(
        long = "config.file",
        default_value = "alertmanager.yml",
        global = true
    )]
    pub config_file: PathBuf,
    /// Addresses to listen on for the web interface and API (repeatable; `:0` picks a free port).
    #[arg(long = "web.listen-address", default_value = ":9093")]
    pub listen_addresses: Vec<String>,
    /// The URL under which the engine is reachable from outside (for example behind a proxy).
    #[arg(long = "web.external-url")]
    pub external_url: Option<String>,
    /// Prefix of every HTTP route; defaults to the path of --web.external-url.
    #[arg(long = "web.route-prefix")]
    pub route_prefix: Option<String>,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"], global = true)]
    pub log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt", value_parser = ["logfmt", "json"], global = true)]
    pub log_format: String,
    /// Comma-separated experimental features: utf8-strict-mode, classic-mode.
    #[arg(long = "enable-feature", value_delimiter = ',', global = true)]
    pub enable_feature: Vec<String>,
}

impl RunFlags {
    /// Config parsing options from the feature flags.
    pub fn parse_options(&self) -> Result<ParseOptions, String> {
        let mut utf8_strict = false;
        let mut classic = false;
        for feature in self
            .enable_feature
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
        {
            match feature {
                "utf8-strict-mode" => utf8_strict = true,
                "classic-mode" => classic = true,
                other => return Err(format!("Unknown option for --enable-feature: {other}")),
            }
        }
        let matcher_mode = match (utf8_strict, classic) {
            (true, true) => {
                return Err("cannot have both classic and UTF-8 modes enabled".to_string());
            }
            (true, false) => ParseMode::Utf8Strict,
            (false, true) => ParseMode::Classic,
            (false, false) => ParseMode::Fallback,
        };
        Ok(ParseOptions { matcher_mode })
    }
}

/// Offline subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate config files, like `amtool check-config`.
    CheckConfig {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the routing tree or test where labels are routed, like `amtool config routes`.
    Routes {
        /// Config file to read.
        #[arg(long = "config.file", default_value = "alertmanager.yml")]
        config_file: PathBuf,
        /// `show` (default) or `test`.
        #[command(subcommand)]
        command: Option<RoutesCommand>,
    },
}

/// `routes` subcommands.
#[derive(Subcommand, Debug)]
pub enum RoutesCommand {
    /// Print the routing tree.
    Show,
    /// Print the receivers an alert with the given labels is routed to.
    Test {
        /// Fail unless the resolved receivers equal this comma-separated list.
        #[arg(long = "verify.receivers")]
        verify_receivers: Option<String>,
        /// Print the matching branches of the tree.
        #[arg(long)]
        tree: bool,
        /// Labels as name=value.
        labels: Vec<String>,
    },
}
