//! High availability: replicas gossip their silences and notification log with chitchat.
//!
//! - [`membership`]: chitchat membership, the live members sorted by name (a replica's
//!   position), DNS re-resolution of `--cluster.peer` names every few seconds.
//! - [`transport`]: chitchat's messages in labelled, optionally sealed (AEAD) frames.
//! - [`state`]: silences and log entries as key/values, re-published by every replica.
//! - [`catchup`]: the bulk catch-up over HTTP before a replica counts as settled.
//! - [`metrics`]: upstream's cluster metrics and Larum's.
//!
//! A replica is *settled* once it has merged a live peer's snapshot (or, when no peer
//! answered, once `--cluster.settle-timeout` passed; at once without `--cluster.peer`).
//! Until then `/-/ready` answers 503 and the pipeline's settle stage holds
//! notifications. The wait stage waits `position x --cluster.peer-timeout`.

pub mod catchup;
pub mod membership;
pub mod metrics;
pub mod state;
pub mod transport;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chitchat::{ChitchatConfig, ChitchatHandle, FailureDetectorConfig, ProtocolVersion};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::nflog::NotificationLog;
use crate::silence::Silences;

pub use membership::Member;
pub use metrics::ClusterMetrics;

/// The `--cluster.*` flags (upstream's names and defaults; `key_file` is Larum's).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `--cluster.listen-address`; empty disables clustering.
    pub listen_address: String,
    /// `--cluster.advertise-address`.
    pub advertise_address: Option<String>,
    /// `--cluster.peer` (repeatable): `host:port` or `ip:port`.
    pub peers: Vec<String>,
    /// `--cluster.peer-name`; empty picks a random one.
    pub peer_name: String,
    /// `--cluster.peer-timeout`: how long each position waits before notifying.
    pub peer_timeout: Duration,
    /// `--cluster.gossip-interval`.
    pub gossip_interval: Duration,
    /// `--cluster.pushpull-interval`: how often expired keys leave the gossip state.
    pub pushpull_interval: Duration,
    /// `--cluster.settle-timeout`: the longest wait for a peer's state.
    pub settle_timeout: Duration,
    /// `--cluster.label`: only replicas with the same label talk to each other.
    pub label: String,
    /// `--cluster.key-file`: a shared secret; gossip is then sealed and authenticated.
    pub key_file: Option<PathBuf>,
    /// How often `--cluster.peer` DNS names are re-resolved.
    pub resolve_interval: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            listen_address: "0.0.0.0:9094".into(),
            advertise_address: None,
            peers: Vec::new(),
            peer_name: String::new(),
            peer_timeout: Duration::from_secs(15),
            gossip_interval: Duration::from_millis(200),
            pushpull_interval: Duration::from_secs(60),
            settle_timeout: Duration::from_secs(60),
            label: String::new(),
            key_file: None,
            resolve_interval: Duration::from_secs(5),
        }
    }
}

impl ClusterOptions {
    /// Whether clustering is on (a listen address is set).
    pub fn enabled(&self) -> bool {
        !self.listen_address.trim().is_empty()
    }
}

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An address flag could not be parsed or resolved.
    #[error("invalid {flag} {value:?}: {reason}")]
    Address {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// `--cluster.key-file` could not be read or is empty.
    #[error("cannot use --cluster.key-file {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Binding the gossip socket or starting chitchat failed.
    #[error("cannot start cluster gossip on {address}: {reason}")]
    Start {
        /// The listen address.
        address: String,
        /// Why.
        reason: String,
    },
}

/// The cluster as the status endpoint shows it.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    /// This replica's name.
    pub name: String,
    /// `ready` or `settling`.
    pub status: &'static str,
    /// Live members, this replica included (name and gossip address).
    pub peers: Vec<Member>,
}

/// A running cluster membership.
pub struct Cluster {
    name: String,
    bound: SocketAddr,
    handle: Arc<ChitchatHandle>,
    members: Arc<RwLock<Vec<Member>>>,
    peer_timeout: Duration,
    settled: watch::Sender<bool>,
    metrics: ClusterMetrics,
    silences: Arc<Silences>,
    nflog: Arc<NotificationLog>,
}

fn resolve_one(flag: &'static str, value: &str) -> Result<SocketAddr, ClusterError> {
    let err = |reason: String| ClusterError::Address {
        flag,
        value: value.to_string(),
        reason,
    };
    let text = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_string()
    };
    std::net::ToSocketAddrs::to_socket_addrs(&text)
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("resolves to no address".into()))
}

/// The address peers reach this replica at: `--cluster.advertise-address`, else the
/// bound address, else (bound to every interface) the local address of the route to the
/// first peer, else loopback.
fn advertise_address(
    options: &ClusterOptions,
    bound: SocketAddr,
) -> Result<SocketAddr, ClusterError> {
    if let Some(a) = options
        .advertise_address
        .as_deref()
        .filter(|a| !a.is_empty())
    {
        return resolve_one("--cluster.advertise-address", a);
    }
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    for peer in &options.peers {
        let Ok(mut addrs) = std::net::ToSocketAddrs::to_socket_addrs(peer.as_str()) else {
            continue;
        };
        let Some(addr) = addrs.next() else { continue };
        let probe = std::net::UdpSocket::bind(SocketAddr::new(
            if addr.is_ipv4() {
                IpAddr::from([0u8; 4])
            } else {
                IpAddr::from([0u16; 8])
            },
            0,
        ));
        if let Ok(probe) = probe
            && probe.connect(addr).is_ok()
            && let Ok(local) = probe.local_addr()
            && !local.ip().is_unspecified()
        {
            return Ok(SocketAddr::new(local.ip(), bound.port()));
        }
    }
    Ok(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port()))
}

fn random_name() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..26].to_string()
}

impl Cluster {
    /// Joins the cluster: binds the gossip socket, starts chitchat, publishes the local
    /// state, merges peers' state, and starts settling (catch-up from a peer's API).
    /// `api` is the API listener's address and `route_prefix` the API's prefix.
    pub async fn start(
        options: ClusterOptions,
        api: SocketAddr,
        route_prefix: &str,
        silences: Arc<Silences>,
        nflog: Arc<NotificationLog>,
        metrics: ClusterMetrics,
        clock: Clock,
    ) -> Result<Arc<Cluster>, ClusterError> {
        let listen = resolve_one("--cluster.listen-address", &options.listen_address)?;
        let secret = match &options.key_file {
            Some(path) => {
                let key = std::fs::read(path).map_err(|e| ClusterError::Key {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                let trimmed = key.trim_ascii().to_vec();
                if trimmed.is_empty() {
                    return Err(ClusterError::Key {
                        path: path.display().to_string(),
                        reason: "the file is empty".into(),
                    });
                }
                Some(trimmed)
            }
            None => None,
        };
        let codec = transport::Codec::new(&options.label, secret.as_deref());
        let start_err = |reason: String| ClusterError::Start {
            address: options.listen_address.clone(),
            reason,
        };
        let (transport, bound) = transport::SecureTransport::bind(listen, codec, metrics.clone())
            .await
            .map_err(|e| start_err(e.to_string()))?;
        let advertise = advertise_address(&options, bound)?;
        let name = if options.peer_name.is_empty() {
            random_name()
        } else {
            options.peer_name.clone()
        };
        let api_ip = if api.ip().is_unspecified() {
            advertise.ip()
        } else {
            api.ip()
        };
        let api_url = format!(
            "http://{}{route_prefix}",
            SocketAddr::new(api_ip, api.port())
        );
        let id = membership::chitchat_id(&name, advertise);
        let config = ChitchatConfig {
            chitchat_id: id.clone(),
            cluster_id: format!("larum:{}", options.label),
            gossip_interval: options.gossip_interval.max(Duration::from_millis(10)),
            listen_addr: bound,
            seed_nodes: options.peers.clone(),
            failure_detector_config: FailureDetectorConfig {
                initial_interval: options.gossip_interval.max(Duration::from_millis(10)) * 5,
                dead_node_grace_period: Duration::from_secs(15 * 60),
                ..FailureDetectorConfig::default()
            },
            marked_for_deletion_grace_period: Duration::from_secs(3600),
            catchup_callback: None,
            extra_liveness_predicate: None,
            protocol_version: ProtocolVersion::V1,
        };
        let handle = chitchat::spawn_chitchat(
            config,
            vec![(state::API_KEY.to_string(), api_url.clone())],
            &transport,
        )
        .await
        .map_err(|e| start_err(format!("{e:#}")))?;
        let handle = Arc::new(handle);
        let chitchat = handle.chitchat();
        tracing::info!(name = %name, address = %bound, advertise = %advertise, api = %api_url, "Joined the cluster");
        metrics.enabled.set(1);

        // Publish what this replica holds, then everything it takes from now on.
        let changes = state::observe(&silences, &nflog);
        tokio::spawn(state::publish_loop(
            chitchat.clone(),
            changes,
            clock,
            options.pushpull_interval,
        ));
        let incoming = state::subscribe(&*chitchat.lock().await, id);
        tokio::spawn(state::merge_loop(incoming, silences.clone(), nflog.clone()));

        let members = Arc::new(RwLock::new(Vec::new()));
        tokio::spawn(membership::watch_loop(
            chitchat.clone(),
            members.clone(),
            metrics.clone(),
            options
                .gossip_interval
                .clamp(Duration::from_millis(50), Duration::from_secs(1)),
        ));
        if !options.peers.is_empty() {
            tokio::spawn(membership::resolve_loop(
                handle.clone(),
                options.peers.clone(),
                advertise,
                members.clone(),
                options.resolve_interval.max(Duration::from_millis(100)),
            ));
        }
        let (settled, _) = watch::channel(false);
        let cluster = Arc::new(Cluster {
            name,
            bound,
            handle,
            members,
            peer_timeout: options.peer_timeout,
            settled,
            metrics,
            silences,
            nflog,
        });
        tokio::spawn(settle(cluster.clone(), options));
        Ok(cluster)
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The gossip address actually bound.
    pub fn bound_address(&self) -> SocketAddr {
        self.bound
    }

    /// The live members, sorted by name.
    pub fn members(&self) -> Vec<Member> {
        self.members
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The index of this replica among the live members sorted by name.
    pub fn position(&self) -> usize {
        membership::position(&self.members.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// How long the wait stage waits: `position x peer_timeout`.
    pub fn wait(&self) -> Duration {
        self.peer_timeout
            .saturating_mul(u32::try_from(self.position()).unwrap_or(u32::MAX))
    }

    /// Becomes `true` once the replica has settled and caught up.
    pub fn settled(&self) -> watch::Receiver<bool> {
        self.settled.subscribe()
    }

    /// Whether the replica has settled and caught up (`/-/ready`).
    pub fn is_ready(&self) -> bool {
        *self.settled.borrow()
    }

    /// Name, status and members, for `/api/v2/status`.
    pub fn status(&self) -> ClusterStatus {
        let mut peers = self.members();
        if !peers.iter().any(|m| m.is_self) {
            peers.push(Member {
                name: self.name.clone(),
                address: self.bound,
                api: None,
                is_self: true,
            });
        }
        ClusterStatus {
            name: self.name.clone(),
            status: if self.is_ready() { "ready" } else { "settling" },
            peers,
        }
    }

    /// The full replicated state (served to peers catching up).
    pub fn snapshot(&self) -> catchup::Snapshot {
        catchup::Snapshot::take(&self.silences, &self.nflog)
    }

    /// The cluster's metrics.
    pub fn metrics(&self) -> &ClusterMetrics {
        &self.metrics
    }

    /// Stops gossiping.
    pub fn shutdown(&self) {
        let _ = self.handle.initiate_shutdown();
    }

    fn mark_settled(&self) {
        self.metrics.settled.set(1);
        self.settled.send_replace(true);
    }
}

/// Settles: merges the snapshot of the first live peer that serves one, or gives up
/// waiting after the settle timeout.
async fn settle(cluster: Arc<Cluster>, options: ClusterOptions) {
    if options.peers.is_empty() {
        tracing::info!("No --cluster.peer: settled at once");
        cluster.mark_settled();
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder().no_proxy().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(err = %e, "cannot build the catch-up client; settling without catch-up");
            cluster.mark_settled();
            return;
        }
    };
    let started = Instant::now();
    let deadline = started + options.settle_timeout;
    let pause = options
        .gossip_interval
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        let peers: Vec<Member> = cluster
            .members()
            .into_iter()
            .filter(|m| !m.is_self && m.api.is_some())
            .collect();
        for peer in peers {
            let Some(api) = &peer.api else { continue };
            let t = Instant::now();
            match catchup::catch_up(
                &client,
                &peer.name,
                api,
                cluster.silences.clone(),
                cluster.nflog.clone(),
            )
            .await
            {
                Ok((silences, entries)) => {
                    let took = t.elapsed();
                    cluster.metrics.catchup_seconds.set(took.as_secs_f64());
                    cluster
                        .metrics
                        .catchup_entries
                        .inc_by((silences + entries) as u64);
                    tracing::info!(peer = %peer.name, silences, entries, took = ?took, "Caught up with a peer; settled");
                    cluster.mark_settled();
                    return;
                }
                Err(e) => {
                    cluster.metrics.catchup_failures.inc();
                    tracing::warn!(err = %e, "Catch-up from a peer failed; trying another");
                }
            }
        }
        if Instant::now() >= deadline {
            tracing::warn!(timeout = ?options.settle_timeout, "No peer served its state before --cluster.settle-timeout; settled with the local state");
            cluster.mark_settled();
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_upstreams() {
        let o = ClusterOptions::default();
        assert_eq!(o.listen_address, "0.0.0.0:9094");
        assert!(o.enabled());
        assert_eq!(o.peer_timeout, Duration::from_secs(15));
        assert_eq!(o.gossip_interval, Duration::from_millis(200));
        assert_eq!(o.settle_timeout, Duration::from_secs(60));
        let off = ClusterOptions {
            listen_address: String::new(),
            ..o
        };
        assert!(!off.enabled());
    }

    #[test]
    fn advertise_falls_back_to_the_bound_address() {
        let o = ClusterOptions::default();
        let bound: SocketAddr = ([127, 0, 0, 1], 9999).into();
        assert_eq!(advertise_address(&o, bound).unwrap(), bound);
        let any: SocketAddr = ([0, 0, 0, 0], 9999).into();
        let with_peer = ClusterOptions {
            peers: vec!["127.0.0.1:1".into()],
            ..ClusterOptions::default()
        };
        assert_eq!(
            advertise_address(&with_peer, any).unwrap(),
            "127.0.0.1:9999".parse().unwrap()
        );
    }
}
