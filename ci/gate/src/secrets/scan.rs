//! The scanner: one Aho-Corasick pass over every rule's keywords picks the rules whose regexes
//! run; regexes work on bytes, so invalid UTF-8 and minified one-line files need no special path.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use super::rules::{Near, Rule, RULES};
use crate::allow;

/// A compiled rule set.
pub struct RuleSet {
    /// Each rule, its regex, and its pair's other half when it has one (compiled `Rule::near`).
    rules: Vec<(Rule, Regex, Option<Regex>)>,
    keywords: AhoCorasick,
    /// For each keyword pattern, the rules it enables.
    keyword_rules: Vec<Vec<usize>>,
    /// Secret values matching any of these are not reported (configured allowlist).
    allow: Vec<Regex>,
}

/// A secret found in a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHit {
    /// The rule's id.
    pub rule: &'static str,
    /// Byte range of the secret in the buffer.
    pub start: usize,
    /// End of the secret (exclusive).
    pub end: usize,
    /// The secret itself (never printed; hashed and redacted for reports).
    pub secret: Vec<u8>,
    /// An inline allow comment on the secret's line, with its reason if one was given.
    pub allowed: Option<Option<String>>,
}

/// Why a rule set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A configured rule id does not exist.
    #[error("unknown secret rule {0:?} (see `armtune gate --list-rules`)")]
    UnknownRule(String),
    /// A configured allowlist regex does not compile.
    #[error("allowlist regex {0:?}: {1}")]
    BadRegex(String, String),
}

/// Values that are placeholders, not secrets, whatever rule matched them.
const PLACEHOLDERS: &[&str] = &[
    "example",
    "xxxxxxxx",
    "********",
    "<",
    ">",
    "${",
    "{{",
    "%(",
    "placeholder",
    "changeme",
    "change_me",
    "your_",
    "your-",
    "dummy",
    "redacted",
    "insert_",
    "replace_me",
    "fake",
    "test_only",
    // The signature of jwt.io's example token, which documentation everywhere copies.
    "sflkxwrjsmekkf2qt4fwpmejf36pok6yjv_adqssw5c",
];

/// Passwords of a `user:password` pair that only say where the password goes.
const PLACEHOLDER_PASSWORDS: &[&str] =
    &["password", "passwd", "pass", "pwd", "secret", "token", "test", "changeit", "apikey", "api_key", "key"];

/// Name endings that make a credential-named setting something else: an identifier beside the
/// credential (`client_id`, `private_key_id`), where it lives (`token_url`, `password_file`),
/// what it is called (`auth_header`), its shape (`token_type`, `password_length`).
const NOT_SECRET_NAME_ENDINGS: &[&str] = &[
    "_id",
    "-id",
    ".id",
    "_uri",
    "_url",
    "_endpoint",
    "_path",
    "_file",
    "_dir",
    "_header",
    "_name",
    "_type",
    "_length",
    "_len",
    "_ttl",
    "_expiry",
    "_expires",
    "_env",
    "_var",
    "_policy",
    "_hint",
    "_prompt",
    "_field",
];

impl RuleSet {
    /// All rules except `disabled`, with extra allowlist regexes for secret values.
    pub fn new(disabled: &[String], allow_regexes: &[String]) -> Result<RuleSet, RuleError> {
        for id in disabled {
            if !RULES.iter().any(|r| r.id == id) {
                return Err(RuleError::UnknownRule(id.clone()));
            }
        }
        // The user's regexes first: a mistake in them is reported before the rules are compiled.
        let allow = allow_regexes
            .iter()
            .map(|s| Regex::new(s).map_err(|e| RuleError::BadRegex(s.clone(), e.to_string())))
            .collect::<Result<_, _>>()?;
        let rules: Vec<(Rule, Regex, Option<Regex>)> = RULES
            .iter()
            .filter(|r| !disabled.iter().any(|d| d == r.id))
            .map(|r| {
                // The size limit is raised for the long bounded repetitions some token formats need.
                let re = RegexBuilder::new(r.regex).size_limit(64 << 20).build().expect("built-in rule compiles");
                let near = r.near.map(|n| Regex::new(n.regex).expect("built-in pair rule compiles"));
                (*r, re, near)
            })
            .collect();
        let mut patterns: Vec<&str> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, (rule, _, _)) in rules.iter().enumerate() {
            for kw in rule.keywords {
                match patterns.iter().position(|p| p == kw) {
                    Some(p) => keyword_rules[p].push(i),
                    None => {
                        patterns.push(kw);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("keywords compile");
        Ok(RuleSet { rules, keywords, keyword_rules, allow })
    }

    /// Every secret in `data`, the content of a file named `file_name` (some rules only apply to
    /// settings files).
    pub fn scan(&self, file_name: &str, data: &[u8]) -> Vec<SecretHit> {
        let mut enabled = vec![false; self.rules.len()];
        let mut remaining = self.rules.len();
        for m in self.keywords.find_overlapping_iter(data) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                if !enabled[r] {
                    enabled[r] = true;
                    remaining -= 1;
                }
            }
            if remaining == 0 {
                break;
            }
        }
        let mut hits = Vec::new();
        for (i, (rule, re, other)) in self.rules.iter().enumerate() {
            if !enabled[i] || !rule.applies_to(file_name) {
                continue;
            }
            match (other, rule.near) {
                (Some(other), Some(near)) => hits.extend(self.paired_hits(rule, re, other, near, data)),
                _ => hits.extend(re.captures_iter(data).filter_map(|caps| self.hit(rule, &caps, data))),
            }
        }
        hits.sort_by_key(|h| h.start);
        // Two rules on the same bytes (a JWT in a generic assignment): keep the specific one,
        // which comes first in the rule table.
        let order = |id: &str| RULES.iter().position(|r| r.id == id).unwrap_or(usize::MAX);
        let mut kept: Vec<SecretHit> = Vec::with_capacity(hits.len());
        for hit in hits {
            if let Some(prev) = kept.iter_mut().rev().take(4).find(|k| k.start < hit.end && hit.start < k.end) {
                if order(hit.rule) < order(prev.rule) {
                    *prev = hit;
                }
                continue;
            }
            kept.push(hit);
        }
        kept
    }

    /// The hit of one match of `rule`, unless its value is not a secret after all.
    fn hit(&self, rule: &Rule, caps: &regex::bytes::Captures, data: &[u8]) -> Option<SecretHit> {
        let m = caps.get(rule.group)?;
        let secret = m.as_bytes();
        if rule.min_entropy.is_some_and(|min| entropy(secret) < min) || self.is_allowed_value(secret) {
            return None;
        }
        let whole = caps.get(0).expect("group 0 is the match");
        if rule.id.starts_with("generic-") && !generic_value_is_secret(&data[whole.start()..m.start()], secret) {
            return None;
        }
        Some(SecretHit {
            rule: rule.id,
            start: m.start(),
            end: m.end(),
            secret: secret.to_vec(),
            allowed: inline_allow(line_of(data, m.start()), rule.id),
        })
    }

    /// The hits of a pair rule: its regex runs only on the lines around each match of the pair's
    /// other half (`other`), and never takes that match itself for the secret.
    fn paired_hits(&self, rule: &Rule, re: &Regex, other: &Regex, near: Near, data: &[u8]) -> Vec<SecretHit> {
        let mut hits: Vec<SecretHit> = Vec::new();
        for anchor in other.find_iter(data) {
            let (from, to) = lines_around(data, anchor.start(), anchor.end(), near.lines);
            let window = &data[from..to];
            for caps in re.captures_iter(window) {
                let Some(m) = caps.get(rule.group) else { continue };
                let (start, end) = (from + m.start(), from + m.end());
                let taken = (start < anchor.end() && anchor.start() < end) || hits.iter().any(|h| h.start == start);
                let outside = near.section.is_some_and(|key| yaml_section(&data[..start]) != Some(key.as_bytes()));
                if taken || outside || !pair_value_is_secret(data, start, end) {
                    continue;
                }
                if let Some(mut hit) = self.hit(rule, &caps, window) {
                    hit.start = start;
                    hit.end = end;
                    hits.push(hit);
                }
            }
        }
        hits
    }

    fn is_allowed_value(&self, secret: &[u8]) -> bool {
        let lower = secret.to_ascii_lowercase();
        if PLACEHOLDERS.iter().any(|p| memchr::memmem::find(&lower, p.as_bytes()).is_some()) {
            return true;
        }
        // `user:password` as documentation writes it (`curl -u user:password`).
        if let Some(colon) = memchr::memrchr(b':', &lower) {
            let password = &lower[colon + 1..];
            if PLACEHOLDER_PASSWORDS.iter().any(|p| password == p.as_bytes()) {
                return true;
            }
        }
        // Obviously made up: one character repeated (`0000000000000000`, `sk_test_0000...`).
        if secret.iter().all(|&b| b == secret[0]) || longest_run(secret) >= 8 {
            return true;
        }
        self.allow.iter().any(|re| re.is_match(secret))
    }
}

/// Whether a generic rule's value is a secret, from the `name = ` part before it: not when the
/// name is an identifier or a location beside a credential, nor when the value is a URL (the
/// connection-string rule looks at those).
fn generic_value_is_secret(before: &[u8], value: &[u8]) -> bool {
    if memchr::memmem::find(value, b"://").is_some() {
        return false;
    }
    let name: Vec<u8> = before
        .iter()
        .copied()
        .skip_while(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .take_while(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
        .collect();
    // camelCase and PascalCase names end their words with a capital: `privateKeyId`, `TokenUrl`.
    let snake: Vec<u8> = name.iter().enumerate().fold(Vec::new(), |mut out, (i, &b)| {
        if i > 0 && b.is_ascii_uppercase() && name[i - 1].is_ascii_lowercase() {
            out.push(b'_');
        }
        out.push(b.to_ascii_lowercase());
        out
    });
    !NOT_SECRET_NAME_ENDINGS.iter().any(|e| snake.ends_with(e.as_bytes()))
}

/// The byte range from the start of the line `lines` lines above the one holding `start` to the
/// end of the line `lines` lines below the one holding `end`.
fn lines_around(data: &[u8], start: usize, end: usize, lines: usize) -> (usize, usize) {
    let (mut from, mut to) = (line_start(data, start), line_end(data, end));
    for _ in 0..lines {
        if from > 0 {
            from = line_start(data, from - 1);
        }
        if to < data.len() {
            to = line_end(data, to + 1);
        }
    }
    (from, to)
}

/// The top-level YAML key whose block the end of `before` is in: the last line that starts with
/// a key at column 0.
fn yaml_section(before: &[u8]) -> Option<&[u8]> {
    before.split(|b| *b == b'\n').rev().skip(1).find_map(|line| {
        let key_end = line.iter().position(|b| *b == b':')?;
        let key = &line[..key_end];
        let top_level = key.first().is_some_and(|b| b.is_ascii_alphanumeric())
            && key.iter().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b));
        top_level.then_some(key)
    })
}

/// Whether the value at `start..end` of `data`, near the other half of a pair, is its secret: a
/// generated secret has digits and letters (a MIME type or a phrase has not), is no key of a
/// map, and is not assigned to an identifier's name (`tenant_id = "…"` beside a client id).
fn pair_value_is_secret(data: &[u8], start: usize, end: usize) -> bool {
    let value = &data[start..end];
    let mixed = value.iter().any(u8::is_ascii_digit) && value.iter().any(u8::is_ascii_alphabetic);
    mixed && !is_key(&data[end..]) && generic_value_is_secret(line_before(data, start), value)
}

/// Whether a quoted string whose closing quote starts `after` is a key (`"name": …`), not a value.
fn is_key(after: &[u8]) -> bool {
    let rest = after.get(1..).unwrap_or_default();
    let rest = &rest[rest.iter().take_while(|b| *b == &b' ' || *b == &b'\t').count()..];
    rest.first() == Some(&b':') && rest.get(1) != Some(&b':')
}

/// The part of the line of byte `at` before it.
fn line_before(data: &[u8], at: usize) -> &[u8] {
    &data[line_start(data, at)..at]
}

/// Where the line of byte `at` starts.
fn line_start(data: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &data[..at]).map_or(0, |i| i + 1)
}

/// Where the line of byte `at` ends (its newline, or the end of `data`).
fn line_end(data: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i)
}

/// The length of the longest run of one repeated byte.
fn longest_run(data: &[u8]) -> usize {
    data.chunk_by(|a, b| a == b).map(<[u8]>::len).max().unwrap_or(0)
}

/// The line around byte `at`.
pub fn line_of(data: &[u8], at: usize) -> &[u8] {
    &data[line_start(data, at)..line_end(data, at)]
}

/// `armtune:allow [secrets | RULE-ID] [-- reason]` (also gitleaks' `gitleaks:allow` and
/// detect-secrets' `pragma: allowlist secret`) on the line of a finding of rule `rule`:
/// `Some(reason)`.
pub fn inline_allow(line: &[u8], rule: &str) -> Option<Option<String>> {
    for marker in [&b"gitleaks:allow"[..], b"pragma: allowlist secret"] {
        if memchr::memmem::find(line, marker).is_some() {
            return Some(None);
        }
    }
    let at = memchr::memmem::find(line, allow::MARKER.as_bytes())?;
    allow::parse(&String::from_utf8_lossy(&line[at + allow::MARKER.len()..]), &["secrets", rule])
}

/// Shannon entropy in bits per byte.
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz") > 3.5);
    }

    #[test]
    fn inline_allows() {
        let allow = |line: &[u8]| inline_allow(line, "generic-api-key");
        assert_eq!(allow(b"key = 'x' # armtune:allow secrets -- test fixture"), Some(Some("test fixture".into())));
        assert_eq!(allow(b"key = 'x' // armtune:allow secrets"), Some(None));
        assert_eq!(allow(b"key = 'x' // gitleaks:allow"), Some(None));
        assert_eq!(allow(b"key = 'x' // armtune:allow complexity"), None);
        assert_eq!(allow(b"key = 'x'"), None);
        // Bare, as gitleaks:allow; or naming the finding's rule.
        assert_eq!(allow(b"key = 'x' // armtune:allow"), Some(None));
        assert_eq!(allow(b"key = 'x' # armtune:allow -- docs sample"), Some(Some("docs sample".into())));
        assert_eq!(allow(b"key = 'x' // armtune:allow generic-api-key"), Some(None));
        assert_eq!(allow(b"key = 'x' // armtune:allow aws-access-key"), None);
    }

    #[test]
    fn every_rule_compiles_and_has_lowercase_keywords() {
        let set = RuleSet::new(&[], &[]).unwrap();
        assert_eq!(set.rules.len(), RULES.len());
        for r in RULES {
            assert!(!r.keywords.is_empty(), "{}", r.id);
            assert!(r.keywords.iter().all(|k| k.to_ascii_lowercase() == *k), "{}", r.id);
            let mut ids = RULES.iter().filter(|o| o.id == r.id);
            assert!(ids.next().is_some() && ids.next().is_none(), "duplicate id {}", r.id);
        }
        assert!(RuleSet::new(&["no-such-rule".into()], &[]).is_err());
    }
}
