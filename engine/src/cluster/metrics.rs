//! Cluster metrics: upstream's names where upstream has one, `larum_cluster_*` for
//! catch-up and refused packets.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label of the message counters (upstream's `msg_type`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MsgType {
    /// `update` for gossip datagrams (Larum has no separate full-state stream).
    pub msg_type: String,
}

/// Why a datagram was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Refusal {
    /// `label` (another `--cluster.label`), `key` (no or a wrong `--cluster.key-file`),
    /// `malformed` (not a Larum gossip frame).
    pub reason: String,
}

/// Every cluster metric.
#[derive(Clone, Default)]
pub struct ClusterMetrics {
    /// `alertmanager_cluster_members`: live members, this replica included.
    pub members: Gauge,
    /// `alertmanager_cluster_failed_peers`: members considered dead.
    pub failed_peers: Gauge,
    /// `alertmanager_peer_position`: this replica's position (index among live members
    /// sorted by name).
    pub position: Gauge,
    /// `alertmanager_cluster_enabled`: 1 when clustering is on.
    pub enabled: Gauge,
    /// `alertmanager_cluster_messages_received_total`.
    pub messages_received: Family<MsgType, Counter>,
    /// `alertmanager_cluster_messages_sent_total`.
    pub messages_sent: Family<MsgType, Counter>,
    /// `alertmanager_cluster_messages_received_size_total` (bytes on the wire).
    pub bytes_received: Family<MsgType, Counter>,
    /// `alertmanager_cluster_messages_sent_size_total` (bytes on the wire).
    pub bytes_sent: Family<MsgType, Counter>,
    /// `larum_cluster_packets_refused_total{reason}`.
    pub refused: Family<Refusal, Counter>,
    /// `larum_cluster_catchup_seconds`: how long the last bulk catch-up took.
    pub catchup_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `larum_cluster_catchup_entries_total`: silences and log entries taken from peers'
    /// snapshots.
    pub catchup_entries: Counter,
    /// `larum_cluster_catchup_failures_total`: snapshot fetches that failed.
    pub catchup_failures: Counter,
    /// `larum_cluster_settled`: 1 once the replica has settled and caught up.
    pub settled: Gauge,
}

impl ClusterMetrics {
    /// Counts a refused datagram.
    pub fn refuse(&self, reason: &str) {
        self.refused
            .get_or_create(&Refusal {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// How many datagrams were refused for `reason` (tests, status).
    pub fn refused_count(&self, reason: &str) -> u64 {
        self.refused
            .get_or_create(&Refusal {
                reason: reason.to_string(),
            })
            .get()
    }

    fn update() -> MsgType {
        MsgType {
            msg_type: "update".to_string(),
        }
    }

    /// Counts a gossip message sent in `bytes` bytes.
    pub fn sent(&self, bytes: usize) {
        self.messages_sent.get_or_create(&Self::update()).inc();
        self.bytes_sent
            .get_or_create(&Self::update())
            .inc_by(bytes as u64);
    }

    /// Counts a gossip message received in `bytes` bytes.
    pub fn received(&self, bytes: usize) {
        self.messages_received.get_or_create(&Self::update()).inc();
        self.bytes_received
            .get_or_create(&Self::update())
            .inc_by(bytes as u64);
    }

    /// Registers the metrics (counters get `_total` from the registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "alertmanager_cluster_members",
            "Number indicating current number of members in cluster.",
            self.members.clone(),
        );
        registry.register(
            "alertmanager_cluster_failed_peers",
            "Number indicating the current number of failed peers in the cluster.",
            self.failed_peers.clone(),
        );
        registry.register(
            "alertmanager_peer_position",
            "Position the Alertmanager instance believes it's in. The position determines a peer's behavior in the cluster.",
            self.position.clone(),
        );
        registry.register(
            "alertmanager_cluster_enabled",
            "Indicates whether the clustering is enabled or not.",
            self.enabled.clone(),
        );
        registry.register(
            "alertmanager_cluster_messages_received",
            "Total number of cluster messages received.",
            self.messages_received.clone(),
        );
        registry.register(
            "alertmanager_cluster_messages_sent",
            "Total number of cluster messages sent.",
            self.messages_sent.clone(),
        );
        registry.register(
            "alertmanager_cluster_messages_received_size",
            "Total size of cluster messages received.",
            self.bytes_received.clone(),
        );
        registry.register(
            "alertmanager_cluster_messages_sent_size",
            "Total size of cluster messages sent.",
            self.bytes_sent.clone(),
        );
        registry.register(
            "larum_cluster_packets_refused",
            "Gossip datagrams refused, by reason: label (another cluster label), key (missing or wrong key), malformed.",
            self.refused.clone(),
        );
        registry.register(
            "larum_cluster_catchup_seconds",
            "Duration of the last bulk catch-up from a peer's snapshot.",
            self.catchup_seconds.clone(),
        );
        registry.register(
            "larum_cluster_catchup_entries",
            "Silences and notification log entries taken from peers' snapshots.",
            self.catchup_entries.clone(),
        );
        registry.register(
            "larum_cluster_catchup_failures",
            "Snapshot fetches from peers that failed.",
            self.catchup_failures.clone(),
        );
        registry.register(
            "larum_cluster_settled",
            "1 once this replica has settled and caught up with its peers.",
            self.settled.clone(),
        );
        // Pre-create the refusal series so a dashboard sees zeros.
        for reason in ["label", "key", "malformed"] {
            let _ = self.refused.get_or_create(&Refusal {
                reason: reason.to_string(),
            });
        }
        let _ = self.messages_sent.get_or_create(&Self::update());
        let _ = self.messages_received.get_or_create(&Self::update());
    }
}
