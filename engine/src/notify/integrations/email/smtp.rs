//! The SMTP connection: lettre's client, with TLS set up from `tls_config` (files read
//! at each send, so rotated certificates take effect without a reload).

use lettre::address::Envelope;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, Certificate, CertificateStore, Identity, TlsParameters, TlsVersion,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::super::NotifyError;
use crate::config::http_config::{TlsConfig, TlsVersion as ConfigTlsVersion};

/// The name sent with EHLO.
pub fn client_id(hello: &str) -> ClientId {
    if hello.is_empty() {
        ClientId::Domain("localhost".to_string())
    } else {
        ClientId::Domain(hello.to_string())
    }
}

fn read(inline: &str, file: &str, field: &str) -> Result<Option<Vec<u8>>, NotifyError> {
    if !inline.is_empty() {
        return Ok(Some(inline.as_bytes().to_vec()));
    }
    if file.is_empty() {
        return Ok(None);
    }
    std::fs::read(file).map(Some).map_err(|e| {
        NotifyError::permanent(format!(
            "parse TLS configuration: reading {field} {file}: {e}"
        ))
    })
}

/// TLS settings for a connection to `host`: the CA (only it is trusted when set,
/// else the system's roots), client certificate, `server_name` (else `host`),
/// `insecure_skip_verify` and the minimum version.
pub fn tls_parameters(tls: &TlsConfig, host: &str) -> Result<TlsParameters, NotifyError> {
    super::super::http::install_crypto_provider();
    let bad = |e: lettre::transport::smtp::Error| {
        NotifyError::permanent(format!("parse TLS configuration: {e}"))
    };
    let domain = if tls.server_name.is_empty() {
        host.to_string()
    } else {
        tls.server_name.clone()
    };
    let mut b = TlsParameters::builder(domain);
    if let Some(pem) = read(&tls.ca, &tls.ca_file, "ca_file")? {
        let cert = Certificate::from_pem(&pem).map_err(bad)?;
        b = b
            .certificate_store(CertificateStore::None)
            .add_root_certificate(cert);
    }
    let cert = read(&tls.cert, &tls.cert_file, "cert_file")?;
    let key = read(tls.key.expose(), &tls.key_file, "key_file")?;
    if let (Some(cert), Some(key)) = (cert, key) {
        b = b.identify_with(Identity::from_pem(&cert, &key).map_err(bad)?);
    }
    if tls.insecure_skip_verify {
        b = b.dangerous_accept_invalid_certs(true);
    }
    // rustls speaks TLS 1.2 and 1.3 only.
    if tls.min_version == Some(ConfigTlsVersion::Tls13) {
        b = b.set_min_tls_version(TlsVersion::Tlsv13);
    }
    if tls.max_version.is_some() {
        tracing::debug!("tls_config.max_version is not applied to SMTP connections");
    }
    b.build_rustls().map_err(bad)
}

/// Connects to `host:port` (TLS from the start when `tls` is given), reads the
/// greeting and sends EHLO.
pub async fn connect(
    host: &str,
    port: u16,
    hello: &str,
    tls: Option<TlsParameters>,
) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
    AsyncSmtpConnection::connect_tokio1((host, port), None, &client_id(hello), tls, None).await
}

/// Sends the envelope and message like Go's `net/smtp`: MAIL (with `BODY=8BITMIME` and
/// `SMTPUTF8` when the server offers them), one RCPT per recipient, DATA, the message.
/// An error names the step that failed.
pub async fn deliver(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), (&'static str, lettre::transport::smtp::Error)> {
    let info = conn.server_info();
    let mut params = Vec::new();
    if info.supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if info.supports_feature(Extension::SmtpUtfEight) {
        params.push(MailParameter::SmtpUtfEight);
    }
    conn.command(Mail::new(envelope.from().cloned(), params))
        .await
        .map_err(|e| ("send MAIL command", e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| ("send RCPT command", e))?;
    }
    conn.command(Data)
        .await
        .map_err(|e| ("send DATA command", e))?;
    // lettre ends the data with CRLF . CRLF itself: without this, the message would
    // gain an empty last line.
    let message = message.strip_suffix(b"\r\n").unwrap_or(message);
    conn.message(message)
        .await
        .map_err(|e| ("delivery failure", e))?;
    Ok(())
}
