//! The gossip transport: chitchat's messages in Larum frames over UDP.
//!
//! Every datagram is a frame: a magic, a tag of `--cluster.label`, flags, a message ID,
//! the fragment's index and count, then the payload. With `--cluster.key-file` the
//! payload is sealed with XChaCha20-Poly1305 (random 24-byte nonce, the frame header as
//! associated data), so a frame from outside the cluster, or altered on the way, fails
//! to open and is dropped. Frames with another label, without a valid tag, or not ours
//! are refused and counted in `larum_cluster_packets_refused_total{reason}`.
//!
//! Chitchat fills a datagram up to 65,507 bytes, so a message that does not fit one
//! frame with its header, nonce and tag is split into fragments and reassembled by the
//! receiver (a bounded buffer of partial messages; a lost fragment loses the message,
//! like a lost datagram).
//!
//! Chitchat keeps its wire encoding private, so the socket lets chitchat's own UDP
//! socket encode and decode over loopback: a message to send is first sent by a
//! private chitchat socket to a private tap socket (the bytes are the encoding), sealed,
//! and sent to the peer; a frame received is opened and handed over loopback to a
//! second private chitchat socket that decodes it. Both hops stay inside the process.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use chitchat::ChitchatEnvelope;
use chitchat::transport::{RecvOutcome, SendOutcome, Socket, Transport};
use sha2::{Digest, Sha256};

use super::metrics::ClusterMetrics;

/// Largest UDP payload (what chitchat fills datagrams up to).
pub const MAX_DATAGRAM: usize = 65_507;
const MAGIC: &[u8; 4] = b"LRM1";
/// magic + label tag + flags + message ID + index + count.
const HEADER_LEN: usize = 4 + 8 + 1 + 8 + 1 + 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const FLAG_SEALED: u8 = 1;
/// Payload bytes per fragment: a full datagram less header, nonce and tag.
const CHUNK: usize = MAX_DATAGRAM - HEADER_LEN - NONCE_LEN - TAG_LEN;
/// Most fragments a message can have: chitchat's messages fit one datagram, so a
/// frame claiming more is refused before anything is buffered for it.
const MAX_FRAGMENTS: u8 = 2;
const _: () = assert!(MAX_DATAGRAM.div_ceil(CHUNK) == MAX_FRAGMENTS as usize);
/// Partial messages kept while waiting for their other fragments.
const MAX_PARTIAL: usize = 256;
const PARTIAL_TTL: Duration = Duration::from_secs(5);

/// Why a frame was refused (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Another `--cluster.label`.
    #[error("label")]
    Label,
    /// Sealed with another key, not sealed while a key is set, or sealed while none is.
    #[error("key")]
    Key,
    /// Not a Larum gossip frame.
    #[error("malformed")]
    Malformed,
}

impl Refused {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Label => "label",
            Refused::Key => "key",
            Refused::Malformed => "malformed",
        }
    }
}

/// Seals and opens frames for one label and optional key.
pub struct Codec {
    label_tag: [u8; 8],
    cipher: Option<XChaCha20Poly1305>,
}

impl Codec {
    /// A codec for `label` (may be empty) and, when given, a shared secret (any bytes:
    /// the key is their SHA-256).
    pub fn new(label: &str, secret: Option<&[u8]>) -> Self {
        let mut h = Sha256::new();
        h.update(b"larum cluster label\0");
        h.update(label.as_bytes());
        let digest = h.finalize();
        let mut label_tag = [0u8; 8];
        label_tag.copy_from_slice(&digest[..8]);
        let cipher = secret.map(|s| {
            let key: [u8; 32] = Sha256::digest(s).into();
            XChaCha20Poly1305::new(Key::from_slice(&key))
        });
        Codec { label_tag, cipher }
    }

    /// The frames carrying `message` (one unless it is too large for one datagram).
    pub fn seal(&self, id: u64, message: &[u8]) -> Vec<Vec<u8>> {
        self.seal_in_chunks(id, message, CHUNK)
    }

    /// The frames carrying `message` in fragments of at most `chunk` payload bytes.
    pub(crate) fn seal_in_chunks(&self, id: u64, message: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let chunks: Vec<&[u8]> = if message.is_empty() {
            vec![&[][..]]
        } else {
            message.chunks(chunk.max(1)).collect()
        };
        let count = u8::try_from(chunks.len()).unwrap_or(u8::MAX);
        let mut frames = Vec::with_capacity(chunks.len());
        for (index, chunk) in chunks.into_iter().enumerate().take(usize::from(count)) {
            let mut frame = Vec::with_capacity(HEADER_LEN + NONCE_LEN + chunk.len() + TAG_LEN);
            frame.extend_from_slice(MAGIC);
            frame.extend_from_slice(&self.label_tag);
            frame.push(if self.cipher.is_some() {
                FLAG_SEALED
            } else {
                0
            });
            frame.extend_from_slice(&id.to_le_bytes());
            frame.push(u8::try_from(index).unwrap_or(u8::MAX));
            frame.push(count);
            match &self.cipher {
                Some(cipher) => {
                    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
                    let header = frame.clone();
                    let Ok(sealed) = cipher.encrypt(
                        &nonce,
                        Payload {
                            msg: chunk,
                            aad: &header,
                        },
                    ) else {
                        // Encryption of a bounded buffer does not fail; drop if it does.
                        return Vec::new();
                    };
                    frame.extend_from_slice(&nonce);
                    frame.extend_from_slice(&sealed);
                }
                None => frame.extend_from_slice(chunk),
            }
            frames.push(frame);
        }
        frames
    }

    /// Opens one frame: its message ID, fragment index and count, and the payload.
    pub fn open(&self, frame: &[u8]) -> Result<(u64, u8, u8, Vec<u8>), Refused> {
        if frame.len() < HEADER_LEN || &frame[..4] != MAGIC {
            return Err(Refused::Malformed);
        }
        if frame[4..12] != self.label_tag {
            return Err(Refused::Label);
        }
        let flags = frame[12];
        let mut id = [0u8; 8];
        id.copy_from_slice(&frame[13..21]);
        let id = u64::from_le_bytes(id);
        let (index, count) = (frame[21], frame[22]);
        if count == 0 || index >= count {
            return Err(Refused::Malformed);
        }
        let header = &frame[..HEADER_LEN];
        let body = &frame[HEADER_LEN..];
        let payload = match (&self.cipher, flags & FLAG_SEALED != 0) {
            (Some(cipher), true) => {
                if body.len() < NONCE_LEN + TAG_LEN {
                    return Err(Refused::Key);
                }
                let nonce = XNonce::from_slice(&body[..NONCE_LEN]);
                cipher
                    .decrypt(
                        nonce,
                        Payload {
                            msg: &body[NONCE_LEN..],
                            aad: header,
                        },
                    )
                    .map_err(|_| Refused::Key)?
            }
            (None, false) => body.to_vec(),
            _ => return Err(Refused::Key),
        };
        Ok((id, index, count, payload))
    }
}

/// Fragments of one message received so far, with when the first arrived.
type Partial = (Instant, Vec<Option<Vec<u8>>>);

#[derive(Default)]
struct Reassembly {
    partial: HashMap<(SocketAddr, u64), Partial>,
}

impl Reassembly {
    /// Adds a fragment; returns the whole message once every fragment arrived.
    fn add(
        &mut self,
        from: SocketAddr,
        id: u64,
        index: u8,
        count: u8,
        payload: Vec<u8>,
    ) -> Option<Vec<u8>> {
        if count == 1 {
            return Some(payload);
        }
        let now = Instant::now();
        if self.partial.len() >= MAX_PARTIAL {
            self.partial
                .retain(|_, (seen, _)| now.duration_since(*seen) < PARTIAL_TTL);
            if self.partial.len() >= MAX_PARTIAL {
                let oldest = self
                    .partial
                    .iter()
                    .min_by_key(|(_, (seen, _))| *seen)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    self.partial.remove(&k);
                }
            }
        }
        let entry = self
            .partial
            .entry((from, id))
            .or_insert_with(|| (now, vec![None; usize::from(count)]));
        if entry.1.len() != usize::from(count) {
            return None;
        }
        entry.1[usize::from(index)] = Some(payload);
        if entry.1.iter().all(Option::is_some) {
            let (_, parts) = self.partial.remove(&(from, id))?;
            return Some(parts.into_iter().flatten().flatten().collect());
        }
        None
    }
}

/// The receiving half of the framing, without sockets: checks the label, opens sealed
/// frames, reassembles fragments and checks that a whole message may be a chitchat
/// message. Everything a peer (or anyone who can send a datagram) controls goes through
/// [`Inbound::accept`] before chitchat's decoder sees it.
pub struct Inbound {
    codec: Arc<Codec>,
    reassembly: Reassembly,
}

impl Inbound {
    /// A receiver opening frames with `codec`.
    pub fn new(codec: Arc<Codec>) -> Self {
        Inbound {
            codec,
            reassembly: Reassembly::default(),
        }
    }

    /// Takes one datagram from `from`: the whole message once its last fragment arrived,
    /// `None` while fragments are missing, or why the datagram (or the message it
    /// completed) is refused.
    pub fn accept(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Option<Vec<u8>>, Refused> {
        let (id, index, count, payload) = self.codec.open(datagram)?;
        if count > MAX_FRAGMENTS {
            return Err(Refused::Malformed);
        }
        let Some(message) = self.reassembly.add(from, id, index, count, payload) else {
            return Ok(None);
        };
        // Chitchat's own decoder drops what it cannot read: only hand it messages
        // that start like one, so the sender queue stays in step.
        if message.len() < 4 || message.len() > MAX_DATAGRAM {
            return Err(Refused::Malformed);
        }
        Ok(Some(message))
    }
}

/// A transport whose public UDP socket is bound before chitchat opens it (so the bound
/// address, port 0 resolved, can be advertised).
pub struct SecureTransport {
    socket: Mutex<Option<tokio::net::UdpSocket>>,
    codec: Arc<Codec>,
    metrics: ClusterMetrics,
}

impl SecureTransport {
    /// Binds the public socket on `addr`.
    pub async fn bind(
        addr: SocketAddr,
        codec: Codec,
        metrics: ClusterMetrics,
    ) -> std::io::Result<(SecureTransport, SocketAddr)> {
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        let local = socket.local_addr()?;
        Ok((
            SecureTransport {
                socket: Mutex::new(Some(socket)),
                codec: Arc::new(codec),
                metrics,
            },
            local,
        ))
    }
}

#[async_trait]
impl Transport for SecureTransport {
    async fn open(&self, _listen_addr: SocketAddr) -> anyhow::Result<Box<dyn Socket>> {
        let public = self
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| anyhow::anyhow!("the gossip socket was opened already"))?;
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let encoder = chitchat::transport::UdpSocket::open(loopback).await?;
        let tap = tokio::net::UdpSocket::bind(loopback).await?;
        let feed = tokio::net::UdpSocket::bind(loopback).await?;
        let decoder = chitchat::transport::UdpSocket::open(loopback).await?;
        Ok(Box::new(SecureSocket {
            local: public.local_addr()?,
            public,
            encoder_addr: encoder.local_addr()?,
            encoder,
            tap_addr: tap.local_addr()?,
            tap,
            feed,
            decoder_addr: decoder.local_addr()?,
            decoder,
            pending_from: VecDeque::new(),
            inbound: Inbound::new(self.codec.clone()),
            codec: self.codec.clone(),
            metrics: self.metrics.clone(),
            next_id: rand_id(),
            buf: vec![0u8; MAX_DATAGRAM],
        }))
    }
}

fn rand_id() -> u64 {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut id = [0u8; 8];
    id.copy_from_slice(&nonce[..8]);
    u64::from_le_bytes(id)
}

/// The socket chitchat uses: see the module documentation.
struct SecureSocket {
    local: SocketAddr,
    public: tokio::net::UdpSocket,
    encoder: chitchat::transport::UdpSocket,
    encoder_addr: SocketAddr,
    tap: tokio::net::UdpSocket,
    tap_addr: SocketAddr,
    feed: tokio::net::UdpSocket,
    decoder: chitchat::transport::UdpSocket,
    decoder_addr: SocketAddr,
    /// Senders of the messages handed to the decoder and not yet read back, in order.
    pending_from: VecDeque<SocketAddr>,
    inbound: Inbound,
    codec: Arc<Codec>,
    metrics: ClusterMetrics,
    next_id: u64,
    buf: Vec<u8>,
}

fn transient(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::OutOfMemory
    )
}

#[async_trait]
impl Socket for SecureSocket {
    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.local)
    }

    async fn send(
        &mut self,
        to: SocketAddr,
        envelope: ChitchatEnvelope,
    ) -> anyhow::Result<SendOutcome> {
        self.encoder.send(self.tap_addr, envelope).await?;
        let n = loop {
            let received =
                tokio::time::timeout(Duration::from_secs(1), self.tap.recv_from(&mut self.buf))
                    .await;
            match received {
                Ok(Ok((n, from))) if from == self.encoder_addr => break n,
                Ok(Ok(_)) => continue,
                Ok(Err(e)) if transient(&e) => continue,
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    tracing::warn!("gossip encoder did not answer; message dropped");
                    return Ok(SendOutcome { num_bytes_sent: 0 });
                }
            }
        };
        self.next_id = self.next_id.wrapping_add(1);
        let mut sent = 0;
        for frame in self.codec.seal(self.next_id, &self.buf[..n]) {
            match self.public.send_to(&frame, to).await {
                Ok(k) => sent += k,
                Err(e) if transient(&e) => {}
                Err(e) => {
                    tracing::debug!(to = %to, err = %e, "sending gossip failed");
                }
            }
        }
        self.metrics.sent(sent);
        Ok(SendOutcome {
            num_bytes_sent: sent,
        })
    }

    async fn recv(&mut self) -> anyhow::Result<RecvOutcome> {
        loop {
            if !self.pending_from.is_empty() {
                // Cancel-safe: chitchat's receive decodes right after its recv_from.
                let outcome = self.decoder.recv().await?;
                let Some(from) = self.pending_from.pop_front() else {
                    continue;
                };
                return Ok(RecvOutcome {
                    from_addr: from,
                    envelope: outcome.envelope,
                    num_bytes_received: outcome.num_bytes_received,
                });
            }
            let (n, from) = match self.public.recv_from(&mut self.buf).await {
                Ok(r) => r,
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            let message = match self.inbound.accept(from, &self.buf[..n]) {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(reason) => {
                    self.metrics.refuse(reason.as_str());
                    tracing::debug!(from = %from, reason = reason.as_str(), "refused a gossip datagram");
                    continue;
                }
            };
            self.metrics.received(n);
            self.feed.send_to(&message, self.decoder_addr).await?;
            self.pending_from.push_back(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_frames_open_only_with_the_same_label_and_key() {
        let a = Codec::new("prod", Some(b"secret"));
        let message: Vec<u8> = (0..200u32).map(|i| (i % 251) as u8).collect();
        let frames = a.seal(7, &message);
        assert_eq!(frames.len(), 1);
        assert_eq!(a.open(&frames[0]).unwrap(), (7, 0, 1, message.clone()));
        // The payload is not readable on the wire.
        assert!(!frames[0].windows(50).any(|w| w == &message[..50]));
        assert_eq!(
            Codec::new("staging", Some(b"secret")).open(&frames[0]),
            Err(Refused::Label)
        );
        assert_eq!(
            Codec::new("prod", Some(b"other")).open(&frames[0]),
            Err(Refused::Key)
        );
        assert_eq!(Codec::new("prod", None).open(&frames[0]), Err(Refused::Key));
        let plain = Codec::new("prod", None).seal(1, &message);
        assert_eq!(a.open(&plain[0]), Err(Refused::Key));
        let mut tampered = frames[0].clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(a.open(&tampered), Err(Refused::Key));
        assert_eq!(a.open(b"junk"), Err(Refused::Malformed));
    }

    #[test]
    fn a_full_datagram_is_split_and_reassembled() {
        let codec = Codec::new("", Some(b"k"));
        let message: Vec<u8> = (0..MAX_DATAGRAM).map(|i| (i % 253) as u8).collect();
        let frames = codec.seal(9, &message);
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.len() <= MAX_DATAGRAM));
        let from: SocketAddr = ([127, 0, 0, 1], 9094).into();
        let mut r = Reassembly::default();
        // Out of order.
        let (id, i, c, p) = codec.open(&frames[1]).unwrap();
        assert_eq!(r.add(from, id, i, c, p), None);
        let (id, i, c, p) = codec.open(&frames[0]).unwrap();
        assert_eq!(r.add(from, id, i, c, p), Some(message));
        assert!(r.partial.is_empty());
    }

    #[test]
    fn inbound_refuses_frames_claiming_more_fragments_than_a_datagram_needs() {
        let codec = Arc::new(Codec::new("prod", None));
        let from: SocketAddr = ([127, 0, 0, 1], 9094).into();
        let mut inbound = Inbound::new(codec.clone());
        // A message of three fragments is never chitchat's: refused at its first
        // fragment, so a peer cannot make the receiver hold many large partial messages.
        let message = vec![7u8; 300];
        let frames = codec.seal_in_chunks(1, &message, 100);
        assert_eq!(frames.len(), 3);
        assert_eq!(inbound.accept(from, &frames[0]), Err(Refused::Malformed));
        assert!(inbound.reassembly.partial.is_empty());
        // Two fragments are reassembled; a whole message too short for chitchat is
        // refused.
        let frames = codec.seal_in_chunks(2, &message, 150);
        assert_eq!(inbound.accept(from, &frames[1]), Ok(None));
        assert_eq!(inbound.accept(from, &frames[0]), Ok(Some(message)));
        assert_eq!(
            inbound.accept(from, &codec.seal(3, b"abc")[0]),
            Err(Refused::Malformed)
        );
        assert_eq!(inbound.accept(from, b"junk"), Err(Refused::Malformed));
    }

    #[test]
    fn partial_messages_are_bounded() {
        let from: SocketAddr = ([127, 0, 0, 1], 1).into();
        let mut r = Reassembly::default();
        for id in 0..(MAX_PARTIAL as u64 * 2) {
            assert_eq!(r.add(from, id, 0, 2, vec![1]), None);
        }
        assert!(r.partial.len() <= MAX_PARTIAL);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chitchat_converges_on_a_large_state_through_sealed_fragments() {
        const KEYS: usize = 20_000;
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let metrics = ClusterMetrics::default();
        let codec = || Codec::new("test", Some(b"shared secret"));
        let (ta, addr_a) = SecureTransport::bind(loopback, codec(), metrics.clone())
            .await
            .unwrap();
        let (tb, addr_b) = SecureTransport::bind(loopback, codec(), metrics.clone())
            .await
            .unwrap();
        let config = |name: &str, addr: SocketAddr, seeds: Vec<String>| {
            test_support::chitchat_config(name, "test", addr, seeds)
        };
        // About 4 MB of state: every delta fills a datagram and needs two fragments.
        let state: Vec<(String, String)> = (0..KEYS)
            .map(|i| (format!("n:{i:016x}"), format!("{i:0>200}")))
            .collect();
        let _a = chitchat::spawn_chitchat(config("a", addr_a, vec![]), state, &ta)
            .await
            .unwrap();
        let b = chitchat::spawn_chitchat(
            config("b", addr_b, vec![addr_a.to_string()]),
            Vec::new(),
            &tb,
        )
        .await
        .unwrap();
        test_support::wait_for_keys(&b, "a", KEYS, Duration::from_secs(120)).await;
        assert_eq!(metrics.refused_count("key"), 0);
        assert_eq!(metrics.refused_count("malformed"), 0);
    }
}

/// Two chitchat nodes over our transports, for the tests here and in `fuzzing`.
#[cfg(test)]
pub(crate) mod test_support {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use chitchat::{
        ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, ProtocolVersion,
    };

    /// A node `name` of `cluster_id` on `addr`, gossiping every 50 ms with `seeds`.
    pub(crate) fn chitchat_config(
        name: &str,
        cluster_id: &str,
        addr: SocketAddr,
        seeds: Vec<String>,
    ) -> ChitchatConfig {
        ChitchatConfig {
            chitchat_id: ChitchatId::new(name.to_string(), 1, addr),
            cluster_id: cluster_id.into(),
            gossip_interval: Duration::from_millis(50),
            listen_addr: addr,
            seed_nodes: seeds,
            failure_detector_config: FailureDetectorConfig::default(),
            marked_for_deletion_grace_period: Duration::from_secs(3600),
            catchup_callback: None,
            extra_liveness_predicate: None,
            protocol_version: ProtocolVersion::V1,
        }
    }

    /// Waits until `handle` sees `wanted` keys of node `node`; panics after `timeout`.
    pub(crate) async fn wait_for_keys(
        handle: &ChitchatHandle,
        node: &str,
        wanted: usize,
        timeout: Duration,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = handle
                .with_chitchat(|c| {
                    c.node_states()
                        .iter()
                        .find(|(id, _)| &*id.node_id == node)
                        .map_or(0, |(_, s)| s.key_values().count())
                })
                .await;
            if seen >= wanted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "saw {seen} of {wanted} keys of {node}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
