//! TLS for the HTTP listeners: the rustls server config built from `tls_server_config`,
//! and a listener that hands axum connections after their handshake, each handshake using
//! the web config in force (so a changed certificate is used by the next connection).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::model::{ClientAuthType, TlsServerConfig};
use super::{WebConfigError, WebConfigHandle};

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn field(name: &str) -> String {
    format!("tls_server_config.{name}")
}

/// PEM bytes from a file or the inline text.
fn pem(file: &str, inline: &str, file_field: &str) -> Result<Vec<u8>, WebConfigError> {
    if !file.is_empty() {
        std::fs::read(file).map_err(|e| {
            WebConfigError::invalid(field(file_field), format!("cannot read {file}: {e}"))
        })
    } else {
        Ok(inline.as_bytes().to_vec())
    }
}

fn certificates(bytes: &[u8], name: &str) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebConfigError::invalid(field(name), format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(WebConfigError::invalid(
            field(name),
            "no PEM certificate found",
        ));
    }
    Ok(certs)
}

fn version(name: &str, text: &str) -> Result<u8, WebConfigError> {
    match text {
        "TLS10" => Ok(0),
        "TLS11" => Ok(1),
        "TLS12" => Ok(2),
        "TLS13" => Ok(3),
        other => Err(WebConfigError::invalid(
            field(name),
            format!("unknown TLS version {other:?} (expected TLS10, TLS11, TLS12 or TLS13)"),
        )),
    }
}

/// The crypto provider restricted to the configured suites and groups.
fn provider(t: &TlsServerConfig) -> Result<CryptoProvider, WebConfigError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !t.cipher_suites.is_empty() {
        let mut chosen = Vec::new();
        for name in &t.cipher_suites {
            let suite = provider
                .cipher_suites
                .iter()
                .find(|s| {
                    s.version() == &rustls::version::TLS12
                        && format!("{:?}", s.suite()).eq_ignore_ascii_case(name)
                })
                .ok_or_else(|| {
                    let supported: Vec<String> = provider
                        .cipher_suites
                        .iter()
                        .filter(|s| s.version() == &rustls::version::TLS12)
                        .map(|s| format!("{:?}", s.suite()))
                        .collect();
                    WebConfigError::invalid(
                        field("cipher_suites"),
                        format!(
                            "unsupported cipher suite {name:?} (supported: {})",
                            supported.join(", ")
                        ),
                    )
                })?;
            chosen.push(*suite);
        }
        // Like Go, the list concerns TLS 1.2; TLS 1.3 suites stay on.
        chosen.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS13),
        );
        provider.cipher_suites = chosen;
    }
    if !t.curve_preferences.is_empty() {
        let mut groups = Vec::new();
        for name in &t.curve_preferences {
            let wanted = match name.as_str() {
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                "X25519" => rustls::NamedGroup::X25519,
                other => {
                    return Err(WebConfigError::invalid(
                        field("curve_preferences"),
                        format!(
                            "unsupported curve {other:?} (supported: CurveP256, CurveP384, X25519)"
                        ),
                    ));
                }
            };
            if let Some(g) = provider.kx_groups.iter().find(|g| g.name() == wanted) {
                groups.push(*g);
            }
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

/// Builds the rustls server config: reads the certificate, key and client CA.
pub fn server_config(t: &TlsServerConfig) -> Result<Arc<rustls::ServerConfig>, WebConfigError> {
    let min = version("min_version", t.min_version.as_deref().unwrap_or("TLS12"))?;
    let max = version("max_version", t.max_version.as_deref().unwrap_or("TLS13"))?;
    if max < 2 {
        return Err(WebConfigError::invalid(
            field("max_version"),
            "TLS 1.0 and 1.1 are not supported; the lowest is TLS12",
        ));
    }
    if min > max {
        return Err(WebConfigError::invalid(
            field("min_version"),
            "min_version is above max_version",
        ));
    }
    let mut versions = Vec::new();
    if min <= 2 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 3 {
        versions.push(&rustls::version::TLS13);
    }
    let provider = Arc::new(provider(t)?);

    let certs = certificates(&pem(&t.cert_file, &t.cert, "cert_file")?, "cert_file")?;
    let key_bytes = pem(&t.key_file, t.key.expose(), "key_file")?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
        WebConfigError::invalid(field("key_file"), format!("no usable PEM private key: {e}"))
    })?;

    let verifier: Arc<dyn ClientCertVerifier> = match t.client_auth_type {
        ClientAuthType::NoClientCert => WebPkiClientVerifier::no_client_auth(),
        ClientAuthType::RequestClientCert | ClientAuthType::RequireAnyClientCert => {
            Arc::new(AnyClientCert {
                mandatory: t.client_auth_type == ClientAuthType::RequireAnyClientCert,
                algorithms: provider.signature_verification_algorithms,
            })
        }
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certificates(
                &pem(&t.client_ca_file, &t.client_ca, "client_ca_file")?,
                "client_ca_file",
            )? {
                roots.add(ca).map_err(|e| {
                    WebConfigError::invalid(field("client_ca_file"), format!("unusable CA: {e}"))
                })?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if t.client_auth_type == ClientAuthType::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder.build().map_err(|e| {
                WebConfigError::invalid(field("client_ca_file"), format!("unusable CA: {e}"))
            })?
        }
    };

    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| WebConfigError::invalid(field("cipher_suites"), e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            WebConfigError::invalid(
                field("key_file"),
                format!("the key does not fit the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(false);
    Ok(Arc::new(config))
}

/// Asks for a client certificate and checks only that the client holds its key
/// (`RequestClientCert`, `RequireAnyClientCert`).
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TCP listener whose connections reach axum after a TLS handshake made with the web
/// config in force at the time of the connection.
pub struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp`; handshakes run concurrently, so a slow client does not
    /// hold up others.
    pub fn new(tcp: TcpListener, web: Arc<WebConfigHandle>) -> io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, connections) = mpsc::channel(64);
        let acceptor = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(err = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(config) = web.current().tls.clone() else {
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let accept = TlsAcceptor::from(config).accept(stream);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, accept).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, err = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(peer = %peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(TlsListener {
            connections,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(c) => c,
            // The acceptor task only ends when aborted; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(extra: &str) -> Result<Arc<rustls::ServerConfig>, WebConfigError> {
        crate::notify::integrations::http::install_crypto_provider();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("k.pem"), cert.signing_key.serialize_pem()).unwrap();
        let text = format!("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n{extra}");
        super::super::WebConfig::parse(&text, dir.path()).map(|c| c.tls.unwrap())
    }

    #[test]
    fn builds_with_defaults_and_supported_options() {
        tls("").unwrap();
        tls("  min_version: TLS13\n").unwrap();
        tls("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519]\n  min_version: TLS10\n").unwrap();
        tls("  client_auth_type: RequireAnyClientCert\n").unwrap();
    }

    #[test]
    fn unsupported_options_are_named() {
        let e = tls("  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("cipher_suites") && e.contains("TLS_RSA_WITH_RC4_128_SHA"),
            "{e}"
        );
        let e = tls("  max_version: TLS11\n").err().unwrap().to_string();
        assert!(e.contains("max_version"), "{e}");
        let e = tls("  min_version: TLS14\n").err().unwrap().to_string();
        assert!(e.contains("min_version"), "{e}");
        let e = tls("  curve_preferences: [CurveP521]\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("CurveP521"), "{e}");
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let e = super::super::WebConfig::parse(
            "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: k.pem\n",
            std::path::Path::new("/tmp"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("tls_server_config.cert_file") && e.contains("/nonexistent/c.pem"),
            "{e}"
        );
    }
}
