//! The `armtune:allow CHECKS [-- reason]` directive both checks honour (complexity in the comments
//! of a function, secrets on the line of the secret).

/// The directive's marker.
pub const MARKER: &str = "armtune:allow";

/// Reads what follows [`MARKER`]: `None` when `check` is not among the comma- or space-separated
/// checks it names, else the reason after ` -- ` (`None` when missing or empty).
pub fn parse(after_marker: &str, check: &str) -> Option<Option<String>> {
    let (what, reason) = match after_marker.split_once("--") {
        Some((what, reason)) => (what, Some(reason.trim().trim_end_matches("*/").trim().to_string())),
        None => (after_marker, None),
    };
    what.split([',', ' ']).any(|w| w.trim() == check).then(|| reason.filter(|r| !r.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_reasons() {
        assert_eq!(parse(" complexity -- a table */", "complexity"), Some(Some("a table".into())));
        assert_eq!(parse(" secrets,complexity", "complexity"), Some(None));
        assert_eq!(parse(" secrets --  ", "secrets"), Some(None));
        assert_eq!(parse(" secrets -- why", "complexity"), None);
    }
}
