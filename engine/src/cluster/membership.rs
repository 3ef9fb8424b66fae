//! Membership: chitchat over the [`super::transport`], the live members sorted by name
//! (a replica's position), and periodic re-resolution of `--cluster.peer` DNS names.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chitchat::{Chitchat, ChitchatHandle, ChitchatId};

use super::metrics::ClusterMetrics;
use super::state::API_KEY;

/// One live member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `--cluster.peer-name`.
    pub name: String,
    /// Its gossip address.
    pub address: SocketAddr,
    /// Its API base URL, once known.
    pub api: Option<String>,
    /// Whether this is the replica itself.
    pub is_self: bool,
}

/// The live members, sorted by name, one per name (the newest generation).
pub fn live_members(chitchat: &Chitchat) -> Vec<Member> {
    let me = chitchat.self_chitchat_id().clone();
    let mut by_name: BTreeMap<String, (u64, Member)> = BTreeMap::new();
    for id in chitchat.live_nodes() {
        let api = chitchat
            .node_state(id)
            .and_then(|s| s.get(API_KEY))
            .map(str::to_string);
        let member = Member {
            name: id.node_id.to_string(),
            address: id.gossip_advertise_addr,
            api,
            is_self: *id == me,
        };
        match by_name.get(&member.name) {
            Some((generation, prev)) if *generation > id.generation_id || prev.is_self => {}
            _ => {
                by_name.insert(member.name.clone(), (id.generation_id, member));
            }
        }
    }
    by_name.into_values().map(|(_, m)| m).collect()
}

/// This replica's position: the index of its name among the live members.
pub fn position(members: &[Member]) -> usize {
    members.iter().position(|m| m.is_self).unwrap_or(0)
}

/// Refreshes `members` and the membership metrics every `every`.
pub async fn watch_loop(
    chitchat: Arc<tokio::sync::Mutex<Chitchat>>,
    members: Arc<std::sync::RwLock<Vec<Member>>>,
    metrics: ClusterMetrics,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (live, dead) = {
            let cc = chitchat.lock().await;
            let live = live_members(&cc);
            let live_names: std::collections::HashSet<&str> =
                live.iter().map(|m| m.name.as_str()).collect();
            let dead = cc
                .dead_nodes()
                .filter(|id| !live_names.contains(&*id.node_id))
                .map(|id| id.node_id.to_string())
                .collect::<std::collections::HashSet<_>>()
                .len();
            (live, dead)
        };
        metrics.members.set(live.len() as i64);
        metrics.failed_peers.set(dead as i64);
        metrics.position.set(position(&live) as i64);
        let changed = {
            let current = members.read().unwrap_or_else(|p| p.into_inner());
            *current != live
        };
        if changed {
            let names: Vec<&str> = live.iter().map(|m| m.name.as_str()).collect();
            tracing::info!(members = ?names, "Cluster membership changed");
            *members.write().unwrap_or_else(|p| p.into_inner()) = live;
        }
    }
}

/// Whether a `--cluster.peer` value names a host to resolve (not an IP address).
pub fn needs_resolution(peer: &str) -> bool {
    peer.parse::<SocketAddr>().is_err()
}

/// Resolves `peers` every `every` and gossips with every address that is not a live
/// member yet, so members added behind a DNS name join without a restart (chitchat's
/// own re-resolution runs only every 60 s).
pub async fn resolve_loop(
    handle: Arc<ChitchatHandle>,
    peers: Vec<String>,
    own: SocketAddr,
    members: Arc<std::sync::RwLock<Vec<Member>>>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let known: Vec<SocketAddr> = members
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|m| m.address)
            .collect();
        for peer in &peers {
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(peer.as_str()).await {
                Ok(a) => a.collect(),
                Err(e) => {
                    tracing::debug!(peer = %peer, err = %e, "resolving a peer failed");
                    continue;
                }
            };
            for addr in addrs {
                if addr != own && !known.contains(&addr) {
                    tracing::debug!(peer = %peer, address = %addr, "gossiping with a resolved peer");
                    let _ = handle.gossip(addr);
                }
            }
        }
    }
}

/// The chitchat ID of this replica.
pub fn chitchat_id(name: &str, advertise: SocketAddr) -> ChitchatId {
    let generation = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    ChitchatId::new(name.to_string(), generation, advertise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_the_index_among_members_sorted_by_name() {
        let m = |name: &str, is_self| Member {
            name: name.into(),
            address: ([127, 0, 0, 1], 1).into(),
            api: None,
            is_self,
        };
        assert_eq!(position(&[m("a", false), m("b", true), m("c", false)]), 1);
        assert_eq!(position(&[m("a", true)]), 0);
        assert!(needs_resolution("alertmanager-headless:9094"));
        assert!(!needs_resolution("10.0.0.1:9094"));
    }
}
