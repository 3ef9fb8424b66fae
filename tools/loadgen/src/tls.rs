//! reqwest is built without a TLS crypto provider in this workspace: install ring's once.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs rustls' ring provider as the process default, once (required before any
/// reqwest client is built).
pub fn install_crypto_provider() {
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
