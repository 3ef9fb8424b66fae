//! Results of the measurements, as JSON files, and the comparison table.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// `status` of a measurement that ran to the end.
pub const OK: &str = "ok";

/// Sustained ingestion.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestResult {
    /// "ok", or why the numbers are not available.
    pub status: String,
    /// Alerts accepted (2xx).
    pub alerts: u64,
    /// Seconds of posting.
    pub seconds: f64,
    /// Accepted alerts per second.
    pub alerts_per_sec: f64,
    /// Successful requests.
    pub requests: u64,
    /// Failed requests.
    pub failed_requests: u64,
    /// Request latency, median, ms.
    pub p50_ms: f64,
    /// Request latency, 99th percentile, ms.
    pub p99_ms: f64,
    /// Request latency, maximum, ms.
    pub max_ms: f64,
    /// CPU seconds the target used while posting.
    pub cpu_seconds: f64,
    /// Target CPU microseconds per accepted alert.
    pub cpu_us_per_alert: f64,
    /// CPU seconds the load generator used (it shares the machine).
    pub loadgen_cpu_seconds: f64,
    /// Target RSS at the end, MiB.
    pub rss_end_mib: f64,
    /// Target peak RSS (VmHWM), MiB.
    pub rss_peak_mib: f64,
    /// Connections used.
    pub connections: usize,
    /// Alerts per request.
    pub batch: u64,
    /// Bytes of one alert's JSON.
    pub alert_bytes: usize,
    /// Active silences created before posting.
    pub setup_silences: u64,
    /// Firing inhibition source alerts posted before posting.
    pub setup_inhibit_sources: u64,
    /// Seconds the setup took.
    pub setup_seconds: f64,
}

/// Memory with many active alerts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RssResult {
    /// "ok", or why the numbers are not available.
    pub status: String,
    /// Alerts accepted.
    pub alerts: u64,
    /// Alerts the target reports in `alertmanager_alerts` (all states), if it does.
    pub reported_alerts: Option<u64>,
    /// RSS after settling, MiB.
    pub rss_mib: f64,
    /// Peak RSS (VmHWM), MiB.
    pub rss_peak_mib: f64,
    /// Seconds waited for the RSS to settle after posting.
    pub settle_seconds: f64,
}

/// Flush of many one-alert groups into the local receiver.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FlushResult {
    /// "ok", or why the numbers are not available.
    pub status: String,
    /// Alerts posted (each its own group).
    pub alerts: u64,
    /// Distinct alerts the receiver got.
    pub delivered: u64,
    /// Webhook requests the receiver got.
    pub notifications: u64,
    /// Whether every alert was delivered before the timeout.
    pub complete: bool,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// Seconds to post all alerts.
    pub post_seconds: f64,
    /// Seconds from the first post until every alert was delivered (or the run stopped).
    pub deliver_seconds: f64,
    /// Most connections open to the receiver at once.
    pub peak_receiver_connections: u64,
    /// Most sockets the target had open (sampled).
    pub peak_target_sockets: u64,
    /// Most descriptors the target had open (sampled).
    pub peak_target_fds: u64,
    /// Highest RSS sampled, MiB.
    pub rss_peak_mib: f64,
    /// RSS at the end, MiB.
    pub rss_end_mib: f64,
    /// `GET /-/ready` probes sent during the flush.
    pub ready_probes: u64,
    /// Probes answered 200 in time.
    pub ready_ok: u64,
    /// Median probe latency, ms.
    pub ready_p50_ms: f64,
    /// Slowest answered probe, ms.
    pub ready_max_ms: f64,
}

/// Writes a result as JSON.
pub fn save<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)?;
    Ok(())
}

fn load<T: for<'de> Deserialize<'de> + Default>(dir: &Path, name: &str) -> Result<T, String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|_| "not run".to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("unreadable result {}: {e}", path.display()))
}

/// One target's results, each present only when measured.
pub struct TargetResults {
    /// Display name.
    pub name: String,
    /// `ingest.json`.
    pub ingest: Result<IngestResult, String>,
    /// `rss.json`.
    pub rss: Result<RssResult, String>,
    /// `flush.json`.
    pub flush: Result<FlushResult, String>,
    /// `ingest-silences.json`: ingest with 10,000 active silences.
    pub ingest_silences: Result<IngestResult, String>,
    /// `ingest-inhibit.json`: ingest with an inhibit rule and 10,000 firing sources.
    pub ingest_inhibit: Result<IngestResult, String>,
}

impl TargetResults {
    /// Whether none of the ingest, RSS and flush measurements was run.
    pub fn base_not_run(&self) -> bool {
        let not_run = |e: Option<&String>| e.is_some_and(|e| e == "not run");
        not_run(self.ingest.as_ref().err())
            && not_run(self.rss.as_ref().err())
            && not_run(self.flush.as_ref().err())
    }

    /// Reads the results saved under `dir`; a missing or failed one is "not available".
    pub fn load(name: &str, dir: &Path) -> Self {
        fn ok<T>(r: Result<T, String>, status: impl Fn(&T) -> &str) -> Result<T, String> {
            match r {
                Ok(v) if status(&v) == OK => Ok(v),
                Ok(v) => Err(status(&v).to_string()),
                Err(e) => Err(e),
            }
        }
        TargetResults {
            name: name.to_string(),
            ingest: ok(load::<IngestResult>(dir, "ingest.json"), |r| &r.status),
            rss: ok(load::<RssResult>(dir, "rss.json"), |r| &r.status),
            flush: ok(load::<FlushResult>(dir, "flush.json"), |r| &r.status),
            ingest_silences: ok(load::<IngestResult>(dir, "ingest-silences.json"), |r| {
                &r.status
            }),
            ingest_inhibit: ok(load::<IngestResult>(dir, "ingest-inhibit.json"), |r| {
                &r.status
            }),
        }
    }
}

fn na(reason: &str) -> String {
    let reason = reason.strip_prefix("not available: ").unwrap_or(reason);
    let reason = reason.trim().trim_end_matches(':').replace('|', "/");
    format!("not available ({reason})")
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".to_string(),
    }
}

fn flush_cell(f: &FlushResult) -> String {
    if f.complete {
        format!(
            "all {} in {:.1} s (posting took {:.1} s)",
            f.delivered, f.deliver_seconds, f.post_seconds
        )
    } else {
        format!(
            "INCOMPLETE: {}/{} after {:.1} s{}",
            f.delivered,
            f.alerts,
            f.deliver_seconds,
            f.stopped
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        )
    }
}

/// The comparison as Markdown: one row per target, then the ratios against the targets.
pub fn table(targets: &[TargetResults]) -> String {
    let mut s = String::new();
    s.push_str("| target | alerts/s | req p50 ms | req p99 ms | CPU µs/alert | RSS at 100k MiB | flush of 100k groups | flush peak sockets (target/receiver) | flush peak RSS MiB | /-/ready during flush |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for t in targets {
        let ingest = match &t.ingest {
            Ok(i) => format!(
                "{:.0} | {:.1} | {:.1} | {:.1}",
                i.alerts_per_sec, i.p50_ms, i.p99_ms, i.cpu_us_per_alert
            ),
            Err(e) => format!("{} | | |", na(e)),
        };
        let rss = match &t.rss {
            Ok(r) if r.alerts == 100_000 => format!("{:.0}", r.rss_mib),
            Ok(r) => format!("{:.0} (at {} alerts)", r.rss_mib, r.alerts),
            Err(e) => na(e),
        };
        let flush = match &t.flush {
            Ok(f) => format!(
                "{} | {}/{} | {:.0} | {}/{} ok, p50 {:.1} ms, max {:.0} ms",
                flush_cell(f),
                f.peak_target_sockets,
                f.peak_receiver_connections,
                f.rss_peak_mib,
                f.ready_ok,
                f.ready_probes,
                f.ready_p50_ms,
                f.ready_max_ms
            ),
            Err(e) => format!("{} | | |", na(e)),
        };
        let _ = writeln!(s, "| {} | {ingest} | {rss} | {flush} |", t.name);
    }
    s
}

/// Ratios of the first target to the second, against the targets.
pub fn ratios(larum: &TargetResults, reference: &TargetResults) -> String {
    let ingest = ratio(
        larum.ingest.as_ref().ok().map(|i| i.alerts_per_sec),
        reference.ingest.as_ref().ok().map(|i| i.alerts_per_sec),
    );
    let rss = ratio(
        larum.rss.as_ref().ok().map(|r| r.rss_mib),
        reference.rss.as_ref().ok().map(|r| r.rss_mib),
    );
    let verdict = |cond: Option<bool>| match cond {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured",
    };
    let ingest_met = larum
        .ingest
        .as_ref()
        .ok()
        .zip(reference.ingest.as_ref().ok())
        .map(|(l, r)| l.alerts_per_sec >= 10.0 * r.alerts_per_sec);
    let rss_met = larum
        .rss
        .as_ref()
        .ok()
        .zip(reference.rss.as_ref().ok())
        .map(|(l, r)| l.rss_mib * 4.0 <= r.rss_mib);
    let flush_met = larum.flush.as_ref().ok().map(|f| {
        f.complete
            && f.deliver_seconds <= 60.0
            && f.ready_probes > 0
            && f.ready_ok == f.ready_probes
    });
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| ratio {} / {} | value | target | verdict |",
        larum.name, reference.name
    );
    s.push_str("|---|---|---|---|\n");
    let _ = writeln!(
        s,
        "| ingest alerts/s | {ingest} | >= 10 | {} |",
        verdict(ingest_met)
    );
    let _ = writeln!(
        s,
        "| RSS at 100k active alerts | {rss} | <= 0.25 | {} |",
        verdict(rss_met)
    );
    let _ = writeln!(
        s,
        "| flush of 100k groups | {} | all delivered within 60 s, every /-/ready probe answered | {} |",
        match &larum.flush {
            Ok(f) => flush_cell(f),
            Err(e) => na(e),
        },
        verdict(flush_met)
    );
    s
}

/// Ingest with muting state in place (issue 4): one row per target and variant, then the
/// ratios. Empty when neither variant was run.
pub fn muting_table(larum: &TargetResults, reference: &TargetResults) -> String {
    let not_run = |r: &Result<IngestResult, String>| matches!(r, Err(e) if e == "not run");
    if [larum, reference]
        .iter()
        .all(|t| not_run(&t.ingest_silences) && not_run(&t.ingest_inhibit))
    {
        return String::new();
    }
    type Pick = fn(&TargetResults) -> &Result<IngestResult, String>;
    let variants: [(&str, Pick); 2] = [
        ("ingest with 10,000 active silences", |t| &t.ingest_silences),
        (
            "ingest with 1 inhibit rule and 10,000 firing sources",
            |t| &t.ingest_inhibit,
        ),
    ];
    let mut s = String::new();
    s.push_str(
        "| measurement | target | alerts/s | req p50 ms | req p99 ms | CPU µs/alert | setup s |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|\n");
    for (label, pick) in variants {
        for t in [larum, reference] {
            let cells = match pick(t) {
                Ok(i) => format!(
                    "{:.0} | {:.1} | {:.1} | {:.1} | {:.1}",
                    i.alerts_per_sec, i.p50_ms, i.p99_ms, i.cpu_us_per_alert, i.setup_seconds
                ),
                Err(e) => format!("{} | | | |", na(e)),
            };
            let _ = writeln!(s, "| {label} | {} | {cells} |", t.name);
        }
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "| ratio {} / {} | value | target | verdict |",
        larum.name, reference.name
    );
    s.push_str("|---|---|---|---|\n");
    for (label, pick) in variants {
        let (l, r) = (pick(larum).as_ref().ok(), pick(reference).as_ref().ok());
        let verdict = match l.zip(r) {
            Some((l, r)) if l.alerts_per_sec >= 10.0 * r.alerts_per_sec => "met",
            Some(_) => "NOT met",
            None => "not measured",
        };
        let _ = writeln!(
            s,
            "| {label}, alerts/s | {} | >= 10 | {verdict} |",
            ratio(l.map(|i| i.alerts_per_sec), r.map(|i| i.alerts_per_sec))
        );
    }
    s
}
