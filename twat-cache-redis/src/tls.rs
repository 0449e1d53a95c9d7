//! TLS (`rediss://`): which certificates to trust and to present.
//!
//! The `redis` crate's rustls support does the work (feature `tls`, on by default): no
//! OpenSSL, and the `ring` crypto provider, installed as rustls's process default the
//! first time a TLS cache opens unless the program installed another one first.
//!
//! * **Server certificate**: checked against the platform's root certificates (read by
//!   `rustls-native-certs`), or — when a private CA is given with
//!   [`RedisOptions::tls_ca_pem`] or the file named by `TWAT_CACHE_REDIS_CA` — against
//!   that CA only.
//! * **Client certificate** (mutual TLS): [`RedisOptions::tls_client_identity`], or the
//!   files named by `TWAT_CACHE_REDIS_CLIENT_CERT` and `TWAT_CACHE_REDIS_CLIENT_KEY`.
//! * **`#insecure`** (`rediss://host:port/#insecure`): the `redis` crate's switch that
//!   accepts *any* certificate — encryption without authentication, open to a
//!   man-in-the-middle. Opening such a cache logs a warning every time.
//!
//! A server whose certificate is refused is a configuration error, not an outage: `open`
//! fails with a message naming the certificate problem (the facade then falls back to
//! memory), instead of retrying forever in the background.

use std::path::Path;

use twat_cache_core::{EngineKind, Error};

use crate::options::RedisOptions;

/// The environment variable naming a PEM file of CA certificates to trust instead of the
/// platform's roots, when [`RedisOptions::tls_ca_pem`] is not given.
pub const REDIS_CA_ENV: &str = "TWAT_CACHE_REDIS_CA";

/// The environment variable naming the PEM file of the client certificate (chain) for
/// mutual TLS, when [`RedisOptions::tls_client_identity`] is not given. Needs
/// [`REDIS_CLIENT_KEY_ENV`] too.
pub const REDIS_CLIENT_CERT_ENV: &str = "TWAT_CACHE_REDIS_CLIENT_CERT";

/// The environment variable naming the PEM file of the client certificate's private key.
pub const REDIS_CLIENT_KEY_ENV: &str = "TWAT_CACHE_REDIS_CLIENT_KEY";

/// The certificates a TLS cache uses.
pub(crate) struct TlsSettings {
    #[cfg_attr(not(feature = "tls"), allow(dead_code, reason = "read only with TLS"))]
    ca_pem: Option<Vec<u8>>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code, reason = "read only with TLS"))]
    client: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_env_file(variable: &str) -> Result<Option<Vec<u8>>, Error> {
    let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) else {
        return Ok(None);
    };
    let path = Path::new(&path);
    std::fs::read(path)
        .map(Some)
        .map_err(|source| Error::io(path, source))
}

fn tls_error(message: String) -> Error {
    Error::backend_message(EngineKind::Redis, message)
}

impl TlsSettings {
    /// The settings for `url`: the options' certificates, else the environment's.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file named by the environment cannot be read;
    /// [`ConfigError::InvalidRedisUrl`](twat_cache_core::ConfigError::InvalidRedisUrl)
    /// when this build has no TLS.
    pub(crate) fn resolve(url: &str, options: &RedisOptions) -> Result<Self, Error> {
        if !cfg!(feature = "tls") {
            return Err(Error::Config(
                twat_cache_core::ConfigError::InvalidRedisUrl {
                    url: crate::masking::mask_url(url),
                    reason: "TLS (rediss://) is not compiled into this build of \
                             twat-cache-redis (its `tls` feature is off)",
                },
            ));
        }
        let ca_pem = match &options.tls_ca_pem {
            Some(pem) => Some(pem.0.clone()),
            None => read_env_file(REDIS_CA_ENV)?,
        };
        let client = match &options.tls_client {
            Some(identity) => Some((identity.cert_pem.clone(), identity.key_pem.clone())),
            None => match (
                read_env_file(REDIS_CLIENT_CERT_ENV)?,
                read_env_file(REDIS_CLIENT_KEY_ENV)?,
            ) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => {
                    return Err(tls_error(format!(
                        "mutual TLS needs both {REDIS_CLIENT_CERT_ENV} and {REDIS_CLIENT_KEY_ENV}; \
                         only one is set"
                    )));
                }
            },
        };
        if url.ends_with("#insecure") {
            tracing::warn!(
                url = %crate::masking::mask_url(url),
                "twat-cache: `#insecure` TLS accepts ANY server certificate: the connection \
                 is encrypted but not authenticated, so anyone on the path can read and forge \
                 cache entries; give the server's CA with TWAT_CACHE_REDIS_CA instead"
            );
        }
        Ok(Self { ca_pem, client })
    }

    #[cfg(feature = "tls")]
    fn certificates(&self) -> redis::TlsCertificates {
        install_crypto_provider();
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca_pem.clone(),
        }
    }

    /// A client for the TLS server at `url` with these certificates.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] naming the problem when a certificate or key does not parse.
    #[cfg(feature = "tls")]
    pub(crate) fn client(&self, url: &str) -> Result<redis::Client, Error> {
        redis::Client::build_with_tls(url, self.certificates()).map_err(|err| {
            Error::backend_with(
                EngineKind::Redis,
                format!(
                    "cannot set up TLS for {}: {err}",
                    crate::masking::mask_url(url)
                ),
                err,
            )
        })
    }

    /// Without the `tls` feature [`TlsSettings::resolve`] never succeeds.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn client(&self, url: &str) -> Result<redis::Client, Error> {
        Err(tls_error(format!(
            "TLS is not compiled in ({})",
            crate::masking::mask_url(url)
        )))
    }

    /// `builder` with these certificates.
    #[cfg(feature = "tls")]
    pub(crate) fn cluster(
        &self,
        builder: redis::cluster::ClusterClientBuilder,
    ) -> redis::cluster::ClusterClientBuilder {
        builder.certs(self.certificates())
    }

    /// Without the `tls` feature [`TlsSettings::resolve`] never succeeds.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn cluster(
        &self,
        builder: redis::cluster::ClusterClientBuilder,
    ) -> redis::cluster::ClusterClientBuilder {
        builder
    }
}

/// Installs `ring` as rustls's process-wide crypto provider, unless one is installed.
#[cfg(feature = "tls")]
fn install_crypto_provider() {
    // `Err` means another provider is already the default: the program's choice wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether `err` (from opening a connection) is a refused TLS handshake — an untrusted
/// or mismatched certificate, a missing client certificate — and so a configuration
/// problem rather than an outage. Returns the reason to report.
pub(crate) fn handshake_refusal(err: &redis::RedisError) -> Option<String> {
    #[cfg(feature = "tls")]
    {
        // The `redis` crate wraps the rustls error in an `io::Error` behind an `Arc`,
        // which hides its type from `downcast_ref`: recognize rustls's messages instead.
        let text = err.to_string();
        let markers = [
            "invalid peer certificate",
            "peer is incompatible",
            "received fatal alert",
            "peer misbehaved",
            "no certificates presented",
            "Unable to parse",
            "Unable to extract",
            "Unable to build client with TLS",
        ];
        markers
            .iter()
            .any(|marker| text.contains(marker))
            .then_some(text)
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = err;
        None
    }
}
