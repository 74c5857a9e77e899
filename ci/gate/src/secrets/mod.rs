//! Committed secrets: the rules, the scanner, and how a secret is shown (never in full).

pub mod rules;
pub mod scan;

use sha2::{Digest, Sha256};

pub use scan::{RuleSet, SecretHit};

/// A stable identifier of a secret value: the first 16 hex digits of its SHA-256. Baselines and
/// fingerprints use it, so a secret can be tracked without being stored.
pub fn secret_hash(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The secret as reports show it: its first four characters when it is long enough that they
/// give nothing useful away (provider prefixes like `ghp_` or `AKIA`), then its length.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() >= 16 && !text.starts_with("-----BEGIN") {
        format!("{}…[redacted, {} chars]", chars[..4].iter().collect::<String>(), chars.len())
    } else if text.starts_with("-----BEGIN") {
        let header = text.lines().next().unwrap_or("");
        format!("{header}…[redacted, {} chars]", chars.len())
    } else {
        format!("[redacted, {} chars]", chars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_the_secret() {
        let token = b"ghp_R4nd0mLook1ngT0kenV4lue0123456789abc"; // armtune:allow secrets -- made up for this test
        let shown = redact(token);
        assert!(shown.starts_with("ghp_…") && shown.contains("40 chars"), "{shown}");
        assert!(!shown.contains("R4nd0m"));
        assert_eq!(redact(b"hunter2hunter"), "[redacted, 13 chars]");
        let pem = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----";
        assert!(redact(pem).starts_with("-----BEGIN RSA PRIVATE KEY-----…"));
        assert_eq!(secret_hash(b"abc"), "ba7816bf8f01cfea");
    }
}
