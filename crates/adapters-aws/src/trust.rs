//! The certificate authorities the Lambda functions trust: the five roots
//! of Amazon Trust Services, and no other unless `SSL_CERT_FILE` names a
//! bundle (the end-to-end tests' S3 over TLS does).
//!
//! Every request a function makes goes to an AWS service endpoint, and
//! every AWS endpoint's certificate chains to one of these roots (S3, the
//! last service to move from DigiCert, finished in June 2022). Trusting
//! them alone means that none of the hundred-odd other authorities of an
//! operating system's store can vouch for a false AWS endpoint. It is also
//! the cheaper start: the SDK's default reads the image's whole store from
//! disk at the first request and parses it again for each client, which
//! was about a third of a small function's cold start (docs/performance.md).
//!
//! The command-line tools (redrive) keep the SDK's default, the machine's
//! own store: they run where a proxy may present its own authority.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The five roots as PEM, each with its name, fingerprint and end of
/// validity.
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon_trust_services.pem");

/// The SDK's HTTPS client (rustls on aws-lc, as the SDK's own default),
/// trusting Amazon Trust Services' roots only, or, when `SSL_CERT_FILE`
/// names a bundle, that bundle's authorities instead: the usual way to
/// trust a proxy's or a test endpoint's own authority, which Lambda does
/// not set.
pub fn aws_endpoints_client() -> Result<SharedHttpClient, String> {
    let roots = match std::env::var_os("SSL_CERT_FILE") {
        Some(bundle) => std::fs::read(&bundle).map_err(|err| {
            format!(
                "SSL_CERT_FILE names {}, which cannot be read: {err}",
                bundle.to_string_lossy()
            )
        })?,
        None => AMAZON_TRUST_SERVICES_ROOTS.to_vec(),
    };
    client_trusting(&roots)
}

/// The SDK's HTTPS client trusting the authorities of a PEM bundle.
fn client_trusting(roots: &[u8]) -> Result<SharedHttpClient, String> {
    // The SDK parses the bundle only when it first connects, and panics on
    // a damaged one: it is checked here, so that a start fails with a reason.
    let certificates = CertificateDer::pem_slice_iter(roots)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("SSL_CERT_FILE is not a PEM bundle of certificates: {err}"))?;
    if certificates.is_empty() {
        return Err("SSL_CERT_FILE holds no certificate".into());
    }
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots.to_vec());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|err| format!("the TLS trust store of AWS endpoints: {err}"))?;
    Ok(Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The SHA-256 fingerprints Amazon Trust Services publishes for its
    /// roots: Amazon Root CA 1 to 4, and Starfield Services Root
    /// Certificate Authority - G2.
    const PUBLISHED_FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    ];

    #[test]
    fn the_trust_store_holds_exactly_amazon_trust_services_five_roots() {
        let fingerprints: Vec<String> = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
            .map(|certificate| {
                let certificate = certificate.expect("every PEM block is a certificate");
                Sha256::digest(certificate.as_ref())
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(fingerprints, PUBLISHED_FINGERPRINTS);
    }

    #[test]
    fn a_bundle_that_is_not_pem_is_refused_with_a_reason_not_a_panic() {
        let refused = client_trusting(b"-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap_err();
        assert!(refused.contains("not a PEM bundle"), "{refused}");
        let empty = client_trusting(b"").unwrap_err();
        assert!(empty.contains("no certificate"), "{empty}");
    }
}
