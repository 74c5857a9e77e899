//! What identifies an agent's windows at the server: the application name with labels (host,
//! arch, kernel, board, and the user's), and the credentials, read from files or the environment.

use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine;

/// Parses `--label KEY=VALUE`.
pub fn parse(s: &str) -> Result<(String, String), String> {
    let (key, value) = s.split_once('=').ok_or_else(|| format!("{s:?}: give KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{key:?}: a label name has letters, digits and _ only"));
    }
    Ok((key.to_string(), value.trim().to_string()))
}

/// `APP{arch=aarch64,board=...,host=...,kernel=...,KEY=VALUE}` as Pyroscope's `name` takes it,
/// from the host's and the user's labels, in that order (a label given twice keeps the last).
pub fn application_name(app: &str, given: &[(String, String)]) -> String {
    let labels: std::collections::BTreeMap<String, String> = given.iter().cloned().collect();
    let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", clean(v))).collect();
    format!("{}{{{}}}", clean(app), body.join(","))
}

/// What the agent knows of the machine it runs on: `arch`, `host`, `kernel`, `board`.
pub fn host_labels() -> Vec<(String, String)> {
    let read = |path: &str| {
        std::fs::read_to_string(path).ok().map(|s| s.trim_matches(|c: char| c.is_whitespace() || c == '\0').to_string())
    };
    let mut labels = vec![("arch".to_string(), std::env::consts::ARCH.to_string())];
    if let Some(host) = read("/proc/sys/kernel/hostname") {
        labels.push(("host".into(), host));
    }
    if let Some(kernel) = read("/proc/sys/kernel/osrelease") {
        labels.push(("kernel".into(), kernel));
    }
    // A Raspberry Pi says what it is in its device tree; a server, in its DMI product name.
    let board = read("/proc/device-tree/model").or_else(|| read("/sys/class/dmi/id/product_name"));
    if let Some(board) = board.filter(|b| !b.is_empty()) {
        labels.push(("board".into(), board));
    }
    labels
}

/// A value as a label may hold it: letters, digits, `.`, `-` and `_`; anything else becomes `_`.
fn clean(value: &str) -> String {
    value.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

/// The `Authorization` header: a bearer token or basic credentials from a file, else from the
/// environment (`ARMTUNE_PUSH_TOKEN`, or `ARMTUNE_PUSH_USER` and `ARMTUNE_PUSH_PASSWORD`).
pub fn authorization(token_file: Option<&Path>, basic_file: Option<&Path>) -> Result<Option<String>> {
    let read = |path: &Path| -> Result<String> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = text.trim().to_string();
        if text.is_empty() {
            bail!("{} is empty", path.display());
        }
        Ok(text)
    };
    let basic = |user: &str, password: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    };
    if let Some(path) = token_file {
        return Ok(Some(format!("Bearer {}", read(path)?)));
    }
    if let Some(path) = basic_file {
        let text = read(path)?;
        let Some((user, password)) = text.split_once(':') else {
            bail!("{}: write USER:PASSWORD on one line", path.display());
        };
        return Ok(Some(basic(user, password)));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Ok(match (env("ARMTUNE_PUSH_TOKEN"), env("ARMTUNE_PUSH_USER"), env("ARMTUNE_PUSH_PASSWORD")) {
        (Some(token), _, _) => Some(format!("Bearer {token}")),
        (None, Some(user), Some(password)) => Some(basic(&user, &password)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_host_and_the_users_labels() {
        let mut labels = host_labels();
        labels.extend([("service".into(), "web/v2".into()), ("arch".into(), "arm".into())]);
        let name = application_name("api server", &labels);
        assert!(name.starts_with("api_server{arch=arm,"), "{name}");
        assert!(name.contains(",service=web_v2") && name.contains("host=") && name.ends_with('}'), "{name}");
        assert_eq!(parse("team=perf"), Ok(("team".into(), "perf".into())));
        assert!(parse("no-equals").is_err() && parse("bad key=x").is_err());
    }

    #[test]
    fn credentials_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let (token, basic) = (dir.path().join("token"), dir.path().join("basic"));
        std::fs::write(&token, "abc123\n").unwrap();
        std::fs::write(&basic, "agent:s3cret\n").unwrap(); // armtune:allow secrets -- a test credential
        assert_eq!(authorization(Some(&token), None).unwrap().as_deref(), Some("Bearer abc123"));
        // base64("agent:s3cret")
        assert_eq!(authorization(None, Some(&basic)).unwrap().as_deref(), Some("Basic YWdlbnQ6czNjcmV0"));
        std::fs::write(&basic, "no colon").unwrap();
        assert!(authorization(None, Some(&basic)).is_err());
        assert!(authorization(Some(&dir.path().join("missing")), None).is_err());
    }
}
