//! The `armtune:allow [NAMES] [-- reason]` directive both checks honour (complexity in the comments
//! of a function, secrets on the line of the secret). NAMES are checks (`secrets`, `complexity`)
//! or secret rule ids; none at all allows every finding there, as `gitleaks:allow` does.

/// The directive's marker.
pub const MARKER: &str = "armtune:allow";

/// Reads what follows [`MARKER`]: `None` when it names none of `names` (comma- or
/// space-separated; naming nothing allows everything), else the reason after ` -- ` (`None` when
/// missing or empty). Text glued to the marker (`armtune:allowance`) is no directive.
pub fn parse(after_marker: &str, names: &[&str]) -> Option<Option<String>> {
    if !(after_marker.is_empty() || after_marker.starts_with([' ', '\t', ',', '-', '*'])) {
        return None;
    }
    let (what, reason) = match after_marker.split_once("--") {
        Some((what, reason)) => (what, Some(reason.trim().trim_end_matches("*/").trim().to_string())),
        None => (after_marker, None),
    };
    // A C comment's close and a trailing `-->` are not names.
    let mut named = what.split([',', ' ', '\t']).map(str::trim).filter(|w| !w.is_empty() && *w != "*/").peekable();
    let bare = named.peek().is_none();
    (bare || named.any(|w| names.contains(&w))).then(|| reason.filter(|r| !r.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_reasons() {
        assert_eq!(parse(" complexity -- a table */", &["complexity"]), Some(Some("a table".into())));
        assert_eq!(parse(" secrets,complexity", &["complexity"]), Some(None));
        assert_eq!(parse(" secrets --  ", &["secrets"]), Some(None));
        assert_eq!(parse(" secrets -- why", &["complexity"]), None);
    }

    #[test]
    fn a_bare_marker_allows_everything_and_a_rule_id_its_rule() {
        assert_eq!(parse("", &["secrets"]), Some(None));
        assert_eq!(parse(" */", &["complexity"]), Some(None));
        assert_eq!(parse(" -- sample data", &["secrets", "aws-access-key"]), Some(Some("sample data".into())));
        assert_eq!(parse(" aws-access-key", &["secrets", "aws-access-key"]), Some(None));
        assert_eq!(parse(" github-pat", &["secrets", "aws-access-key"]), None);
        assert_eq!(parse("ance of 3", &["secrets"]), None, "armtune:allowance is no directive");
    }
}
