//! Connecting to PostgreSQL, with TLS when the URL asks for it.
//!
//! - `sslmode=require`: TLS through OpenSSL, and the server's certificate
//!   **verified** (chain and host name) against the system's roots, or
//!   against the CA file named by `sslrootcert=` in the URL or by
//!   `PGSSLROOTCERT` (libpq's names). A certificate that does not verify is
//!   an error, never a silent downgrade.
//! - `sslmode=disable`, `sslmode=prefer` or none: no TLS.
//!
//! ```text
//! postgres://app:secret@db.internal:5432/app?sslmode=require&sslrootcert=/etc/ssl/db-ca.pem
//! ```

use super::super::OutboxError;
use openssl::ssl::{SslConnector, SslMethod};
use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use postgres_openssl::MakeTlsConnector;
use std::path::PathBuf;

/// Connects to `url`.
pub(crate) fn connect(url: &str) -> Result<Client, OutboxError> {
    let (url, root_cert) = take_root_cert(url);
    let config: Config = url
        .parse()
        .map_err(OutboxError::postgres("reading the PostgreSQL URL"))?;
    match config.get_ssl_mode() {
        SslMode::Require => {
            let root_cert =
                root_cert.or_else(|| std::env::var_os("PGSSLROOTCERT").map(PathBuf::from));
            config.connect(connector(root_cert)?)
        }
        _ => config.connect(NoTls),
    }
    .map_err(OutboxError::postgres("connecting"))
}

/// An OpenSSL connector that verifies the server against `root_cert`, or
/// the system's roots.
fn connector(root_cert: Option<PathBuf>) -> Result<MakeTlsConnector, OutboxError> {
    let tls = |reason: String| OutboxError::PostgresTls { reason };
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| tls(e.to_string()))?;
    if let Some(path) = root_cert {
        builder
            .set_ca_file(&path)
            .map_err(|e| tls(format!("cannot read the CA file {}: {e}", path.display())))?;
    }
    Ok(MakeTlsConnector::new(builder.build()))
}

/// Splits libpq's `sslrootcert` parameter (which the client does not know)
/// off a URL (`…?sslrootcert=PATH`) or a key=value string.
fn take_root_cert(url: &str) -> (String, Option<PathBuf>) {
    const KEY: &str = "sslrootcert=";
    if let Some((base, query)) = url.split_once('?') {
        let mut root_cert = None;
        let rest: Vec<&str> = query
            .split('&')
            .filter(|param| match param.strip_prefix(KEY) {
                Some(value) => {
                    root_cert = Some(PathBuf::from(percent_decode(value)));
                    false
                }
                None => true,
            })
            .collect();
        let url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        return (url, root_cert);
    }
    if !url.contains("://") {
        let mut root_cert = None;
        let rest: Vec<&str> = url
            .split_whitespace()
            .filter(|param| match param.strip_prefix(KEY) {
                Some(value) => {
                    root_cert = Some(PathBuf::from(value.trim_matches('\'')));
                    false
                }
                None => true,
            })
            .collect();
        return (rest.join(" "), root_cert);
    }
    (url.to_owned(), None)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_off_urls_and_key_value_strings() {
        let (url, ca) = take_root_cert(
            "postgres://u@h:5432/db?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        );
        assert_eq!(
            url,
            "postgres://u@h:5432/db?sslmode=require&application_name=x"
        );
        assert_eq!(ca, Some(PathBuf::from("/etc/ca.pem")));
        let (url, ca) = take_root_cert("postgres://u@h/db?sslrootcert=/ca.pem");
        assert_eq!(
            (url.as_str(), ca),
            ("postgres://u@h/db", Some("/ca.pem".into()))
        );
        let (url, ca) = take_root_cert("host=h user=u sslmode=require sslrootcert=/ca.pem");
        assert_eq!(
            (url.as_str(), ca),
            ("host=h user=u sslmode=require", Some("/ca.pem".into()))
        );
        let (url, ca) = take_root_cert("postgres://u@h/db");
        assert_eq!((url.as_str(), ca), ("postgres://u@h/db", None));
    }
}
