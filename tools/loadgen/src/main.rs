//! loadgen: measures an Alertmanager-compatible server (larum-engine or Alertmanager):
//! sustained ingestion, memory with many active alerts, and the flush of many groups
//! into a local webhook receiver. Talks to loopback addresses only; every loop is
//! bounded in time and count.

mod alerts;
mod post;
mod procfs;
mod receiver;
mod results;
mod setup;
mod tls;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;

use crate::alerts::{ALERT_BYTES, AlertTemplate};
use crate::post::{PostPlan, post_alerts};
use crate::procfs::ProcSampler;
use crate::results::{FlushResult, IngestResult, OK, RssResult, TargetResults};

/// Load generator for larum-engine and Alertmanager.
#[derive(Parser, Debug)]
#[command(name = "loadgen")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Args, Debug, Clone)]
struct Target {
    /// Base URL of the target (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:9093")]
    url: String,
    /// Process id of the target, for CPU, memory and descriptor samples.
    #[arg(long)]
    pid: Option<u32>,
    /// Concurrent keep-alive connections posting alerts.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Alerts per request.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Timeout of one request.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Write the result as JSON to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// State created before an ingest run.
#[derive(Args, Debug, Clone)]
struct Setup {
    /// Create this many active silences first (`POST /api/v2/silences`); 1 in 100 of
    /// them matches posted alerts, together about 1% of them.
    #[arg(long, default_value_t = 0)]
    silences: u64,
    /// Post this many firing source alerts (`alertname="Source"`, distinct `team`)
    /// first, for an inhibit rule in the target's config.
    #[arg(long, default_value_t = 0)]
    inhibit_sources: u64,
    /// Longest time the setup may take.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    setup_timeout: Duration,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Post distinct alerts for a while: alerts/s, request latency, CPU per alert.
    Ingest {
        #[command(flatten)]
        target: Target,
        /// How long to post.
        #[arg(long, default_value = "15s", value_parser = parse_duration)]
        duration: Duration,
        #[command(flatten)]
        setup: Setup,
    },
    /// Post distinct alerts, wait for the target to settle, read its RSS.
    Rss {
        #[command(flatten)]
        target: Target,
        /// Alerts to post.
        #[arg(long, default_value_t = 100_000)]
        alerts: u64,
        /// Longest wait for the store and the RSS to settle.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        settle_timeout: Duration,
    },
    /// Serve a webhook receiver, post alerts that each form their own group (the
    /// target's config must group by '...' and send to this receiver), and measure
    /// the flush.
    Flush {
        #[command(flatten)]
        target: Target,
        /// Alerts (one-alert groups) to post.
        #[arg(long, default_value_t = 100_000)]
        alerts: u64,
        /// Address of the webhook receiver (loopback only).
        #[arg(long, default_value = "127.0.0.1:19099")]
        listen: SocketAddr,
        /// Give up when not everything is delivered after this long.
        #[arg(long, default_value = "90s", value_parser = parse_duration)]
        timeout: Duration,
        /// Give up when nothing new arrives for this long after posting.
        #[arg(long, default_value = "20s", value_parser = parse_duration)]
        idle_timeout: Duration,
        /// Stop measuring when the target's RSS exceeds this (MiB); the caller stops it.
        #[arg(long, default_value_t = 6144.0)]
        rss_limit_mib: f64,
        /// Interval of the `GET /-/ready` probes.
        #[arg(long, default_value = "500ms", value_parser = parse_duration)]
        probe_interval: Duration,
    },
    /// Print one alert's JSON and its size.
    Alert,
    /// Print the comparison table of two result directories as Markdown.
    Report {
        /// Name and result directory of the candidate, `name=dir`.
        #[arg(long)]
        candidate: String,
        /// Name and result directory of the reference, `name=dir`.
        #[arg(long)]
        reference: String,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (ms, s, m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

fn require_loopback_url(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    let host = parsed.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(loopback, "only loopback targets are allowed, not {url}");
    Ok(url.trim_end_matches('/').to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.mode))
}

async fn run(mode: Mode) -> anyhow::Result<()> {
    match mode {
        Mode::Ingest {
            target,
            duration,
            setup,
        } => {
            let result = match prepare(&target, &setup).await? {
                Ok(done) => IngestResult {
                    setup_silences: setup.silences,
                    setup_inhibit_sources: setup.inhibit_sources,
                    setup_seconds: done,
                    ..ingest(&target, duration).await?
                },
                Err(reason) => IngestResult {
                    status: format!("not available: {reason}"),
                    setup_silences: setup.silences,
                    setup_inhibit_sources: setup.inhibit_sources,
                    ..IngestResult::default()
                },
            };
            report_json(&target, &result)
        }
        Mode::Rss {
            target,
            alerts,
            settle_timeout,
        } => {
            let result = rss(&target, alerts, settle_timeout).await?;
            report_json(&target, &result)
        }
        Mode::Flush {
            target,
            alerts,
            listen,
            timeout,
            idle_timeout,
            rss_limit_mib,
            probe_interval,
        } => {
            anyhow::ensure!(
                listen.ip().is_loopback(),
                "the receiver must listen on loopback"
            );
            let limits = FlushLimits {
                timeout,
                idle_timeout,
                rss_limit_mib,
                probe_interval,
            };
            let result = flush(&target, alerts, listen, limits).await?;
            report_json(&target, &result)
        }
        Mode::Alert => {
            let template = AlertTemplate::new(&alerts::now_rfc3339(), 0)?;
            let alert = template.alert(1);
            println!("{alert}\n{} bytes", alert.len());
            Ok(())
        }
        Mode::Report {
            candidate,
            reference,
        } => {
            let load = |spec: &str| -> anyhow::Result<TargetResults> {
                let (name, dir) = spec
                    .split_once('=')
                    .with_context(|| format!("expected name=dir, got {spec:?}"))?;
                Ok(TargetResults::load(name, std::path::Path::new(dir)))
            };
            let (c, r) = (load(&candidate)?, load(&reference)?);
            if !(c.base_not_run() && r.base_not_run()) {
                println!("{}", results::table(&[c, r]));
                let (c, r) = (load(&candidate)?, load(&reference)?);
                println!("{}", results::ratios(&c, &r));
            }
            let (c, r) = (load(&candidate)?, load(&reference)?);
            let muting = results::muting_table(&c, &r);
            if !muting.is_empty() {
                println!("{muting}");
            }
            Ok(())
        }
    }
}

fn report_json<T: serde::Serialize>(target: &Target, result: &T) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(result)?;
    println!("{json}");
    if let Some(out) = &target.out {
        results::save(out, result)?;
    }
    Ok(())
}

fn template() -> anyhow::Result<Arc<AlertTemplate>> {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    Ok(Arc::new(AlertTemplate::new(&alerts::now_rfc3339(), nonce)?))
}

fn plan(target: &Target, duration: Duration, total: u64) -> anyhow::Result<PostPlan> {
    Ok(PostPlan {
        url: format!("{}/api/v2/alerts", require_loopback_url(&target.url)?),
        connections: target.connections,
        batch: target.batch.max(1),
        duration,
        total,
        request_timeout: target.request_timeout,
    })
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn not_available(first_error: Option<&str>) -> String {
    format!(
        "not available: {}",
        first_error.unwrap_or("no alert was accepted")
    )
}

/// Samples the target periodically on its own thread (reading /proc blocks) until
/// stopped or until the sampling function returns false.
struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl PeakSampler {
    fn start(interval: Duration, mut sample: impl FnMut() -> bool + Send + 'static) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) && sample() {
                std::thread::sleep(interval);
            }
        });
        PeakSampler { stop, thread }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

/// Creates the silences and source alerts `setup` asks for: the seconds it took, or why
/// it failed.
async fn prepare(target: &Target, setup: &Setup) -> anyhow::Result<Result<f64, String>> {
    let base = require_loopback_url(&target.url)?;
    let start = Instant::now();
    if setup.silences > 0 {
        let done = setup::create_silences(
            &base,
            setup.silences,
            target.connections,
            setup.setup_timeout,
        )
        .await?;
        if let Some(e) = done.first_error {
            return Ok(Err(format!(
                "creating silences ({} of {} done): {e}",
                done.created, setup.silences
            )));
        }
        eprintln!(
            "loadgen: created {} silences in {:.1} s",
            done.created, done.seconds
        );
    }
    if setup.inhibit_sources > 0 {
        let left = setup.setup_timeout.saturating_sub(start.elapsed());
        let done =
            setup::post_sources(&base, setup.inhibit_sources, target.connections, left).await?;
        if let Some(e) = done.first_error {
            return Ok(Err(format!(
                "posting source alerts ({} of {} done): {e}",
                done.created, setup.inhibit_sources
            )));
        }
        eprintln!(
            "loadgen: posted {} source alerts in {:.1} s",
            done.created, done.seconds
        );
    }
    Ok(Ok(start.elapsed().as_secs_f64()))
}

async fn ingest(target: &Target, duration: Duration) -> anyhow::Result<IngestResult> {
    let plan = plan(target, duration, u64::MAX)?;
    let proc = target.pid.map(ProcSampler::new);
    let peak_rss = Arc::new(Mutex::new(0.0f64));
    let sampler = proc.clone().map(|p| {
        let peak = peak_rss.clone();
        PeakSampler::start(Duration::from_millis(500), move || {
            if let (Some(rss), Ok(mut peak)) = (p.rss_mib(), peak.lock()) {
                *peak = peak.max(rss);
            }
            true
        })
    });
    let cpu_before = proc.as_ref().and_then(|p| p.cpu_seconds());
    let own_before = procfs::own_cpu_seconds();
    let outcome = post_alerts(&plan, template()?).await?;
    let cpu_after = proc.as_ref().and_then(|p| p.cpu_seconds());
    let own_after = procfs::own_cpu_seconds();
    if let Some(s) = sampler {
        s.finish().await;
    }
    let cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let seconds = outcome.elapsed.as_secs_f64();
    let h = &outcome.latency_us;
    Ok(IngestResult {
        status: if outcome.accepted > 0 {
            OK.to_string()
        } else {
            not_available(outcome.first_error.as_deref())
        },
        alerts: outcome.accepted,
        seconds,
        alerts_per_sec: outcome.accepted as f64 / seconds.max(1e-9),
        requests: outcome.requests_ok,
        failed_requests: outcome.requests_failed,
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
        cpu_seconds: cpu,
        cpu_us_per_alert: if outcome.accepted > 0 {
            cpu * 1e6 / outcome.accepted as f64
        } else {
            0.0
        },
        loadgen_cpu_seconds: match (own_before, own_after) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        },
        rss_end_mib: proc.as_ref().and_then(|p| p.rss_mib()).unwrap_or(0.0),
        rss_peak_mib: proc
            .as_ref()
            .and_then(|p| p.hwm_mib())
            .unwrap_or(0.0)
            .max(peak_rss.lock().map(|p| *p).unwrap_or(0.0)),
        connections: plan.connections,
        batch: plan.batch,
        alert_bytes: ALERT_BYTES,
        ..IngestResult::default()
    })
}

/// Sum of `alertmanager_alerts` over its states, from the target's /metrics.
async fn reported_alerts(client: &reqwest::Client, base: &str) -> Option<u64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let mut sum = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("alertmanager_alerts{")
            && let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())
        {
            *sum.get_or_insert(0.0) += value;
        }
    }
    sum.map(|s: f64| s as u64)
}

async fn rss(target: &Target, total: u64, settle_timeout: Duration) -> anyhow::Result<RssResult> {
    let plan = plan(target, Duration::from_secs(600), total)?;
    let base = require_loopback_url(&target.url)?;
    let outcome = post_alerts(&plan, template()?).await?;
    if outcome.accepted < total {
        return Ok(RssResult {
            status: not_available(outcome.first_error.as_deref()),
            alerts: outcome.accepted,
            ..RssResult::default()
        });
    }
    let client = {
        crate::tls::install_crypto_provider();
        reqwest::Client::builder()
    }
    .no_proxy()
    .timeout(Duration::from_secs(10))
    .build()?;
    let proc = target.pid.map(ProcSampler::new);
    let start = Instant::now();
    let mut reported = None;
    let mut samples: Vec<f64> = Vec::new();
    // Settled: the target reports every alert (or does not report) and the last
    // 6 RSS samples (3 s) are within 2% of each other.
    while start.elapsed() < settle_timeout {
        if reported.is_none_or(|n| n < total) && samples.len().is_multiple_of(4) {
            reported = reported_alerts(&client, &base).await;
        }
        if let Some(rss) = proc.as_ref().and_then(|p| p.rss_mib()) {
            samples.push(rss);
        }
        let last = &samples[samples.len().saturating_sub(6)..];
        let stable = last.len() == 6 && {
            let (lo, hi) = last
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            hi - lo <= 0.02 * hi
        };
        if stable && reported.is_none_or(|n| n >= total) {
            break;
        }
        if proc.is_none() && reported.is_none_or(|n| n >= total) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(RssResult {
        status: OK.to_string(),
        alerts: outcome.accepted,
        reported_alerts: reported,
        rss_mib: proc.as_ref().and_then(|p| p.rss_mib()).unwrap_or(0.0),
        rss_peak_mib: proc.as_ref().and_then(|p| p.hwm_mib()).unwrap_or(0.0),
        settle_seconds: start.elapsed().as_secs_f64(),
    })
}

struct FlushLimits {
    timeout: Duration,
    idle_timeout: Duration,
    rss_limit_mib: f64,
    probe_interval: Duration,
}

#[derive(Default)]
struct TargetPeaks {
    sockets: AtomicU64,
    fds: AtomicU64,
    rss_mib: Mutex<f64>,
    over_limit: AtomicBool,
    gone: AtomicBool,
}

async fn flush(
    target: &Target,
    total: u64,
    listen: SocketAddr,
    limits: FlushLimits,
) -> anyhow::Result<FlushResult> {
    let base = require_loopback_url(&target.url)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let (deliveries, receiver_task) = receiver::serve(listener);

    // Target samples: sockets, descriptors, RSS.
    let peaks = Arc::new(TargetPeaks::default());
    let proc = target.pid.map(ProcSampler::new);
    let sampler = proc.clone().map(|p| {
        let peaks = peaks.clone();
        let limit = limits.rss_limit_mib;
        PeakSampler::start(Duration::from_millis(250), move || {
            if !p.alive() {
                peaks.gone.store(true, Ordering::Relaxed);
                return false;
            }
            if let Some(fds) = p.fds() {
                peaks.sockets.fetch_max(fds.sockets, Ordering::Relaxed);
                peaks.fds.fetch_max(fds.total, Ordering::Relaxed);
            }
            if let Some(rss) = p.rss_mib() {
                if let Ok(mut peak) = peaks.rss_mib.lock() {
                    *peak = peak.max(rss);
                }
                if rss > limit {
                    peaks.over_limit.store(true, Ordering::Relaxed);
                }
            }
            true
        })
    });

    // Readiness probes, each on a new connection, like a load balancer's.
    let probes = Arc::new(Mutex::new((
        0u64,
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?,
    )));
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe_task = {
        let (probes, stop) = (probes.clone(), probe_stop.clone());
        let client = {
            crate::tls::install_crypto_provider();
            reqwest::Client::builder()
        }
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()?;
        let url = format!("{base}/-/ready");
        let interval = limits.probe_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let sent = Instant::now();
                let ok = matches!(client.get(&url).send().await, Ok(r) if r.status().is_success());
                let micros = sent.elapsed().as_micros().min(60_000_000) as u64;
                if let Ok(mut p) = probes.lock() {
                    p.0 += 1;
                    if ok {
                        let _ = p.1.record(micros.max(1));
                    }
                }
            }
        })
    };

    let start = Instant::now();
    let plan = plan(target, limits.timeout, total)?;
    let outcome = post_alerts(&plan, template()?).await?;
    let post_seconds = start.elapsed().as_secs_f64();

    let mut stopped = None;
    let mut last_count = 0;
    let mut last_progress = Instant::now();
    if outcome.accepted < total {
        stopped = Some(not_available(outcome.first_error.as_deref()));
    }
    while stopped.is_none() {
        let delivered = deliveries.distinct_alerts();
        if delivered >= total {
            break;
        }
        if delivered > last_count {
            last_count = delivered;
            last_progress = Instant::now();
        }
        if start.elapsed() >= limits.timeout {
            stopped = Some(format!(
                "timeout after {:.0} s",
                limits.timeout.as_secs_f64()
            ));
        } else if last_progress.elapsed() >= limits.idle_timeout {
            stopped = Some(format!(
                "nothing delivered for {:.0} s",
                limits.idle_timeout.as_secs_f64()
            ));
        } else if peaks.over_limit.load(Ordering::Relaxed) {
            stopped = Some(format!("RSS over {:.0} MiB", limits.rss_limit_mib));
        } else if peaks.gone.load(Ordering::Relaxed) {
            stopped = Some("target exited".to_string());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deliver_seconds = start.elapsed().as_secs_f64();
    probe_stop.store(true, Ordering::Relaxed);
    let _ = probe_task.await;
    if let Some(s) = sampler {
        s.finish().await;
    }
    // Let the last notifications in flight land before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let delivered = deliveries.distinct_alerts();
    receiver_task.abort();

    let (probe_count, probe_hist) = match probes.lock() {
        Ok(p) => (p.0, p.1.clone()),
        Err(_) => (0, Histogram::new(3)?),
    };
    let rss_peak = peaks.rss_mib.lock().map(|p| *p).unwrap_or(0.0);
    Ok(FlushResult {
        status: if outcome.accepted < total {
            not_available(outcome.first_error.as_deref())
        } else {
            OK.to_string()
        },
        alerts: outcome.accepted,
        delivered,
        notifications: deliveries.requests.load(Ordering::Relaxed),
        complete: delivered >= total,
        stopped,
        post_seconds,
        deliver_seconds,
        peak_receiver_connections: deliveries.peak_connections.load(Ordering::Relaxed),
        peak_target_sockets: peaks.sockets.load(Ordering::Relaxed),
        peak_target_fds: peaks.fds.load(Ordering::Relaxed),
        rss_peak_mib: rss_peak.max(proc.as_ref().and_then(|p| p.hwm_mib()).unwrap_or(0.0)),
        rss_end_mib: proc.as_ref().and_then(|p| p.rss_mib()).unwrap_or(0.0),
        ready_probes: probe_count,
        ready_ok: probe_hist.len(),
        ready_p50_ms: ms(probe_hist.value_at_quantile(0.5)),
        ready_max_ms: ms(probe_hist.max()),
    })
}
