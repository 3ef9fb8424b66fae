//! Command-line flags, with Alertmanager's names and defaults.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use larum_engine::config::go_duration::GoDuration;
use larum_engine::config::{ParseMode, ParseOptions};
use larum_engine::options::RuntimeOptions;

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
    /// Base path for data storage.
    #[arg(long = "storage.path", default_value = "data/")]
    pub storage_path: PathBuf,
    /// How long to keep data for.
    #[arg(long = "data.retention", default_value = "120h", value_parser = parse_go_duration)]
    pub data_retention: Duration,
    /// Interval between alert GC.
    #[arg(long = "alerts.gc-interval", default_value = "30m", value_parser = parse_go_duration)]
    pub alerts_gc_interval: Duration,
    /// Maximum number of alerts per alertname. If negative or zero, no limit is set.
    #[arg(
        long = "alerts.per-alertname-limit",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub alerts_per_alertname_limit: i64,
    /// Minimum amount of time to wait before dispatching alerts (sync it with Prometheus'
    /// --rules.alert.resend-delay).
    #[arg(long = "dispatch.start-delay", default_value = "0s", value_parser = parse_go_duration)]
    pub dispatch_start_delay: Duration,
    /// Interval between garbage collection and snapshotting to disk of the silences and
    /// the notification logs.
    #[arg(long = "data.maintenance-interval", default_value = "15m", value_parser = parse_go_duration)]
    pub maintenance_interval: Duration,
    /// Maximum number of silences, including expired silences. If negative or zero, no
    /// limit is set.
    #[arg(
        long = "silences.max-silences",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub max_silences: i64,
    /// Maximum silence size in bytes. If negative or zero, no limit is set.
    #[arg(
        long = "silences.max-silence-size-bytes",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub max_silence_size_bytes: i64,
    /// YAML file of declarative silences with stable IDs, loaded at start, on reload and
    /// when it changes (Larum only).
    #[arg(long = "silences.file")]
    pub silences_file: Option<PathBuf>,
    /// Listen address for cluster. Set to empty string to disable HA mode.
    #[arg(long = "cluster.listen-address", default_value = "0.0.0.0:9094")]
    pub cluster_listen_address: String,
    /// Explicit address to advertise in cluster.
    #[arg(long = "cluster.advertise-address")]
    pub cluster_advertise_address: Option<String>,
    /// Initial peers (may be repeated); DNS names are re-resolved every few seconds.
    #[arg(long = "cluster.peer")]
    pub cluster_peers: Vec<String>,
    /// Explicit name of the peer, rather than generating a random one.
    #[arg(long = "cluster.peer-name", default_value = "")]
    pub cluster_peer_name: String,
    /// Time to wait between peers to send notifications.
    #[arg(long = "cluster.peer-timeout", default_value = "15s", value_parser = parse_go_duration)]
    pub cluster_peer_timeout: Duration,
    /// Interval between sending gossip messages.
    #[arg(long = "cluster.gossip-interval", default_value = "200ms", value_parser = parse_go_duration)]
    pub cluster_gossip_interval: Duration,
    /// Interval for gossip state syncs (Larum: how often expired entries leave the
    /// gossip state).
    #[arg(long = "cluster.pushpull-interval", default_value = "1m0s", value_parser = parse_go_duration)]
    pub cluster_pushpull_interval: Duration,
    /// Maximum time to wait for cluster connections to settle (and for a peer's state)
    /// before evaluating notifications.
    #[arg(long = "cluster.settle-timeout", default_value = "1m0s", value_parser = parse_go_duration)]
    pub cluster_settle_timeout: Duration,
    /// Optional label included on each packet: replicas with another label are refused.
    #[arg(long = "cluster.label", default_value = "")]
    pub cluster_label: String,
    /// File holding a secret shared by the replicas (a random one, e.g. 32 bytes from
    /// /dev/urandom, base64): gossip is then encrypted and authenticated (Larum only).
    #[arg(long = "cluster.key-file")]
    pub cluster_key_file: Option<PathBuf>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.peers-resolve-timeout", hide = true, value_parser = parse_go_duration)]
    pub cluster_peers_resolve_timeout: Option<Duration>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.tcp-timeout", hide = true, value_parser = parse_go_duration)]
    pub cluster_tcp_timeout: Option<Duration>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.probe-timeout", hide = true, value_parser = parse_go_duration)]
    pub cluster_probe_timeout: Option<Duration>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.probe-interval", hide = true, value_parser = parse_go_duration)]
    pub cluster_probe_interval: Option<Duration>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.reconnect-interval", hide = true, value_parser = parse_go_duration)]
    pub cluster_reconnect_interval: Option<Duration>,
    /// Accepted for compatibility; Larum's gossip has no such setting.
    #[arg(long = "cluster.reconnect-timeout", hide = true, value_parser = parse_go_duration)]
    pub cluster_reconnect_timeout: Option<Duration>,
    /// Kubernetes Secret NAMESPACE/NAME to read the config (and silences) from and watch,
    /// instead of --config.file (Larum only).
    #[arg(long = "config.secret")]
    pub config_secret: Option<larum_engine::config::secret_source::SecretRef>,
    /// Key of --config.secret holding the config.
    #[arg(long = "config.secret-key", default_value = "alertmanager.yaml")]
    pub config_secret_key: String,
    /// Key of --config.secret holding the declarative silences (used unless --silences.file is set).
    #[arg(long = "config.secret-silences-key", default_value = "silences.yaml")]
    pub config_secret_silences_key: String,
    /// How long to wait at start for --config.secret to exist and be readable.
    #[arg(long = "config.secret-wait", default_value = "30s", value_parser = parse_go_duration)]
    pub config_secret_wait: Duration,
    /// Path to a web configuration file (TLS, basic auth, response headers) in the
    /// exporter-toolkit format; re-read when it changes.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Maximum number of GET requests processed concurrently; more get 503. If negative or
    /// zero, the limit is the number of CPUs or 8, whichever is larger.
    #[arg(
        long = "web.get-concurrency",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub get_concurrency: i64,
    /// Timeout for HTTP requests (503 past it). If zero, no timeout is set.
    #[arg(long = "web.timeout", default_value = "0s", value_parser = parse_go_duration)]
    pub web_timeout: Duration,
    /// Most alerts kept (firing, or resolved and not yet garbage-collected); new alerts
    /// past it are refused, updates of kept ones still apply. 0 for no limit (Larum only).
    #[arg(long = "alerts.max-alerts", default_value_t = 0)]
    pub alerts_max_alerts: usize,
    /// Most aggregation groups; alerts that would open a new group past it are kept but
    /// not grouped, existing groups keep working. 0 for no limit (Larum only).
    #[arg(long = "dispatch.max-aggregation-groups", default_value_t = 0)]
    pub dispatch_max_aggregation_groups: usize,
    /// Most labels of one posted alert; 0 for no limit (Larum only).
    #[arg(long = "alerts.max-labels", default_value_t = 256)]
    pub alerts_max_labels: usize,
    /// Largest label of a posted alert, name and value together, in bytes; 0 for no
    /// limit (Larum only).
    #[arg(long = "alerts.max-label-bytes", default_value_t = 64 << 10)]
    pub alerts_max_label_bytes: usize,
    /// Most annotations of one posted alert; 0 for no limit (Larum only).
    #[arg(long = "alerts.max-annotations", default_value_t = 256)]
    pub alerts_max_annotations: usize,
    /// Largest annotation of a posted alert, name and value together, in bytes; 0 for no
    /// limit (Larum only).
    #[arg(long = "alerts.max-annotation-bytes", default_value_t = 1 << 20)]
    pub alerts_max_annotation_bytes: usize,
    /// Largest accepted HTTP request body in bytes; larger ones get 413 (Larum only).
    #[arg(long = "web.max-request-body-bytes", default_value_t = larum_engine::api::DEFAULT_MAX_BODY_BYTES)]
    pub max_request_body_bytes: usize,
}

/// Parses a flag's duration like Go's `time.ParseDuration` (`1h30m`, `1.5h`, `300ms`, `0`);
/// negative durations are refused.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    GoDuration::parse(text)
        .ok()
        .filter(|d| d.0 >= 0)
        .map(GoDuration::std)
        .ok_or_else(|| format!("invalid duration {text:?}"))
}

/// A count flag where zero or less means "no limit" (0).
fn non_negative(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

impl RunFlags {
    /// The runtime options these flags set.
    pub fn runtime_options(&self) -> RuntimeOptions {
        RuntimeOptions {
            storage_path: self.storage_path.clone(),
            data_retention: self.data_retention,
            alerts_gc_interval: self.alerts_gc_interval,
            alerts_per_alertname_limit: non_negative(self.alerts_per_alertname_limit),
            dispatch_start_delay: self.dispatch_start_delay,
            external_url: self.external_url.clone().unwrap_or_default(),
            maintenance_interval: self.maintenance_interval,
            max_silences: non_negative(self.max_silences),
            max_silence_size_bytes: non_negative(self.max_silence_size_bytes),
            silences_file: self.silences_file.clone(),
            alerts_max_alerts: self.alerts_max_alerts,
            dispatch_max_aggregation_groups: self.dispatch_max_aggregation_groups,
        }
    }

    /// The HTTP concurrency and timeout limits.
    pub fn http_limits(&self) -> larum_engine::api::limits::HttpLimits {
        larum_engine::api::limits::HttpLimits::from_flags(self.get_concurrency, self.web_timeout)
    }

    /// The size limits of one posted alert.
    pub fn alert_limits(&self) -> larum_engine::api::limits::AlertLimits {
        larum_engine::api::limits::AlertLimits {
            max_labels: self.alerts_max_labels,
            max_label_bytes: self.alerts_max_label_bytes,
            max_annotations: self.alerts_max_annotations,
            max_annotation_bytes: self.alerts_max_annotation_bytes,
        }
    }

    /// The cluster settings these flags set.
    pub fn cluster_options(&self) -> larum_engine::cluster::ClusterOptions {
        larum_engine::cluster::ClusterOptions {
            listen_address: self.cluster_listen_address.trim().to_string(),
            advertise_address: self.cluster_advertise_address.clone(),
            peers: self
                .cluster_peers
                .iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            peer_name: self.cluster_peer_name.clone(),
            peer_timeout: self.cluster_peer_timeout,
            gossip_interval: self.cluster_gossip_interval,
            pushpull_interval: self.cluster_pushpull_interval,
            settle_timeout: self.cluster_settle_timeout,
            label: self.cluster_label.clone(),
            key_file: self.cluster_key_file.clone(),
            ..larum_engine::cluster::ClusterOptions::default()
        }
    }

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
    /// Render templates, like `amtool template render`.
    Template {
        /// `render`.
        #[command(subcommand)]
        command: TemplateCommand,
    },
}

/// `template` subcommands.
#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// Render a template text with the built-in templates and the given files to
    /// standard output.
    Render {
        /// Glob of template files to parse (repeatable).
        #[arg(long = "template.glob", required = true)]
        globs: Vec<String>,
        /// The template text to render.
        #[arg(long = "template.text")]
        text: String,
        /// `text` (default) or `html` (html/template escaping).
        #[arg(long = "template.type", default_value = "text", value_parser = ["text", "html"])]
        template_type: String,
        /// JSON file with the notification data (Alertmanager's template.Data layout);
        /// amtool's example data when not given.
        #[arg(long = "template.data")]
        data: Option<PathBuf>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("120h"),
            Ok(Duration::from_secs(120 * 3600))
        );
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("5d").is_err());
        assert!(parse_go_duration("m").is_err());
        assert!(parse_go_duration("10").is_err());
    }

    #[test]
    fn defaults_are_upstreams() {
        let cli = Cli::parse_from(["larum-engine"]);
        let o = cli.run.runtime_options();
        assert_eq!(o.storage_path, PathBuf::from("data/"));
        assert_eq!(o.data_retention, Duration::from_secs(120 * 3600));
        assert_eq!(o.alerts_gc_interval, Duration::from_secs(1800));
        assert_eq!(o.alerts_per_alertname_limit, 0);
        assert_eq!(o.dispatch_start_delay, Duration::ZERO);
        assert_eq!(o.maintenance_interval, Duration::from_secs(900));
        assert_eq!((o.max_silences, o.max_silence_size_bytes), (0, 0));
        assert_eq!(o.silences_file, None);
        let c = cli.run.cluster_options();
        let d = larum_engine::cluster::ClusterOptions::default();
        assert_eq!(c.listen_address, d.listen_address);
        assert_eq!(
            (
                c.peer_timeout,
                c.gossip_interval,
                c.settle_timeout,
                c.pushpull_interval
            ),
            (
                d.peer_timeout,
                d.gossip_interval,
                d.settle_timeout,
                d.pushpull_interval
            )
        );
        let off = Cli::parse_from(["larum-engine", "--cluster.listen-address="]);
        assert!(!off.run.cluster_options().enabled());
        let cli = Cli::parse_from(["larum-engine", "--alerts.per-alertname-limit=-3"]);
        assert_eq!(cli.run.runtime_options().alerts_per_alertname_limit, 0);
    }
}
