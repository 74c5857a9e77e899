//! Report formats: text (clang-style `file:line:col`), JSON, SARIF 2.1.0 (GitHub code scanning),
//! GitLab Code Quality, GitHub workflow commands, JUnit XML. Secrets appear redacted in all of them.

use std::fmt::Write;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    finding::{Check, Finding},
    secrets::rules::RULES,
    Report,
};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// For people: one line per finding.
    #[default]
    Text,
    /// The whole report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// GitLab Code Quality report.
    Gitlab,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// JUnit XML.
    Junit,
}

/// Renders `report`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => serde_json::to_string_pretty(&json!({
            "tool": "armtune gate",
            "version": env!("CARGO_PKG_VERSION"),
            "findings": report.findings,
            "errors": report.errors,
            "notes": report.notes,
            "stats": report.stats,
        }))
        .unwrap_or_default(),
        Format::Sarif => serde_json::to_string_pretty(&sarif(report)).unwrap_or_default(),
        Format::Gitlab => serde_json::to_string_pretty(&gitlab(report)).unwrap_or_default(),
        Format::Github => github(report),
        Format::Junit => junit(report),
    }
}

fn commit_suffix(f: &Finding) -> String {
    match &f.commit {
        Some(c) if c.hash == "staged" => " (staged)".into(),
        Some(c) => {
            format!(" (commit {} by {} on {}: {})", &c.hash[..c.hash.len().min(12)], c.author, c.date, c.summary)
        }
        None => String::new(),
    }
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(out, "{}: {}: {} [{}]{}", f.location(), f.level(), f.message, f.rule, commit_suffix(f));
    }
    for n in &report.notes {
        let _ = writeln!(out, "{n}: note");
    }
    for e in &report.errors {
        let _ = writeln!(out, "error: {e}");
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// The one-line summary that ends the text format (and reaches the log when the report goes to a
/// file).
pub fn summary(report: &Report) -> String {
    let gating = report.gating().count();
    let s = &report.stats;
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "armtune gate: {} ({gating} failing), {}; {}, {}, {:.1} MB{} in {:.2} s",
        plural(report.findings.len() as u64, "finding"),
        plural(report.errors.len() as u64, "error"),
        plural(s.files, "file"),
        plural(s.functions, "function"),
        s.bytes as f64 / 1e6,
        if s.commits > 0 { format!(", {}", plural(s.commits, "commit")) } else { String::new() },
        s.seconds
    )
}

/// A rule as SARIF and GitLab describe it.
struct RuleInfo {
    id: String,
    name: String,
    short: String,
    help: String,
    check: Check,
}

fn rule_info(id: &str) -> RuleInfo {
    let camel = |s: &str| s.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>();
    let (short, help, check) = match id {
        "cyclomatic" => (
            "Function cyclomatic complexity over the threshold".to_string(),
            "Cyclomatic complexity counts the independent paths through a function (1, plus one per \
             branch, loop, non-default case and && / ||; gocyclo's rules for Go). Split the function, or \
             raise --max-cyclomatic / the path's override in armtune.toml, or suppress with \
             `// armtune:allow complexity -- reason`."
                .to_string(),
            Check::Complexity,
        ),
        "cognitive" => (
            "Function cognitive complexity over the threshold".to_string(),
            "Cognitive complexity (SonarSource) weighs nested branches more than flat ones. Flatten \
             with early returns or extract nested blocks, or raise --max-cognitive, or suppress with \
             `// armtune:allow complexity -- reason`."
                .to_string(),
            Check::Complexity,
        ),
        "suppression-without-reason" => (
            "Suppression comment without a reason".to_string(),
            "The configuration requires a reason on every suppression: write `armtune:allow <check> -- why`."
                .to_string(),
            Check::Complexity,
        ),
        _ => {
            let description = RULES.iter().find(|r| r.id == id).map_or("Secret", |r| r.description);
            (
                format!("{description} committed"),
                format!(
                    "{description} found in the code. Revoke it with its provider first (it is in the \
                     history now), then remove it and load it from the environment or a secret store. \
                     For a false positive: `armtune:allow secrets -- reason` on the line, or its \
                     fingerprint in .armtune-gate-ignore."
                ),
                Check::Secrets,
            )
        }
    };
    RuleInfo { id: id.to_string(), name: camel(id), short, help, check }
}

fn sarif(report: &Report) -> Value {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort();
    ids.dedup();
    let rules: Vec<Value> = ids
        .iter()
        .map(|id| {
            let r = rule_info(id);
            let mut props = json!({"tags": [match r.check { Check::Complexity => "maintainability", Check::Secrets => "security" }]});
            if r.check == Check::Secrets {
                props["security-severity"] = json!("8.0");
                props["precision"] = json!("high");
            }
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.short},
                "fullDescription": {"text": r.help},
                "help": {"text": r.help, "markdown": r.help},
                "defaultConfiguration": {"level": "error"},
                "properties": props,
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let region = match f.byte_offset {
                Some(offset) => json!({"byteOffset": offset}),
                None => {
                    let mut r = json!({"startLine": f.line.max(1), "startColumn": f.column.max(1)});
                    if let Some(end) = f.end_line {
                        r["endLine"] = json!(end.max(f.line.max(1)));
                    }
                    r
                }
            };
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": ids.iter().position(|i| *i == f.rule).unwrap_or(0),
                "level": f.level(),
                "message": {"text": format!("{}{}", f.message, commit_suffix(f))},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.path), "uriBaseId": "%SRCROOT%"},
                        "region": region,
                    }
                }],
                "partialFingerprints": {"armtune/v1": f.fingerprint},
            });
            if f.level() == "note" {
                result["baselineState"] = json!("unchanged");
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({"level": "error", "message": {"text": e}}))
        .chain(report.notes.iter().map(|n| json!({"level": "note", "message": {"text": n}})))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "armtune gate",
                "informationUri": "https://github.com/armtune/armtune",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// A relative path as a URI reference (forward slashes, spaces and specials escaped).
fn uri(path: &std::path::Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn gitlab(report: &Report) -> Value {
    let items: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let r = rule_info(&f.rule);
            let severity = match (f.check, f.gating) {
                (Check::Secrets, true) => "critical",
                (Check::Complexity, true) => "major",
                (_, false) if f.ignored_file => "minor",
                (_, false) => "info",
            };
            // GitLab wants a unique fingerprint per issue; a history finding is per commit too.
            let key = match &f.commit {
                Some(c) => format!("{}:{}", c.hash, f.fingerprint),
                None => f.fingerprint.clone(),
            };
            let digest = Sha256::digest(key.as_bytes());
            json!({
                "description": format!("{}{}", f.message, commit_suffix(f)),
                "check_name": f.rule,
                "fingerprint": digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>(),
                "severity": severity,
                "categories": [match r.check { Check::Complexity => "Complexity", Check::Secrets => "Security" }],
                "location": {"path": f.path.to_string_lossy().replace('\\', "/"), "lines": {"begin": f.line.max(1)}},
            })
        })
        .collect();
    Value::Array(items)
}

/// GitHub's workflow command escaping: data and property values.
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let command = match f.level() {
            "note" => "notice",
            level => level,
        };
        let mut props = format!("file={}", gh_escape(&f.path.to_string_lossy(), true));
        if f.line > 0 {
            let _ = write!(props, ",line={},col={}", f.line, f.column);
            if let Some(end) = f.end_line {
                let _ = write!(props, ",endLine={end}");
            }
        }
        let _ = write!(props, ",title={}", gh_escape(&format!("armtune gate: {}", f.rule), true));
        let _ =
            writeln!(out, "::{command} {props}::{}", gh_escape(&format!("{}{}", f.message, commit_suffix(f)), false));
    }
    for e in &report.errors {
        let _ = writeln!(out, "::error title=armtune gate::{}", gh_escape(e, false));
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn junit(report: &Report) -> String {
    let failures = report.gating().count();
    let tests = report.findings.len().max(1) + report.errors.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"armtune gate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\" time=\"{:.3}\">",
        report.errors.len(),
        report.stats.seconds
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"armtune gate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\" time=\"{:.3}\">",
        report.errors.len(),
        report.stats.seconds
    );
    if report.findings.is_empty() && report.errors.is_empty() {
        let _ = writeln!(out, "    <testcase classname=\"armtune.gate\" name=\"no findings\"/>");
    }
    for f in &report.findings {
        let name = format!("{}: {}", f.rule, f.function.clone().unwrap_or_else(|| f.location()));
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\">",
            xml_escape(&f.path.to_string_lossy()),
            xml_escape(&name),
            xml_escape(&f.path.to_string_lossy()),
            f.line
        );
        if f.gating {
            let _ = write!(
                out,
                "<failure message=\"{}\" type=\"{}\">{}: {}{}</failure>",
                xml_escape(&f.message),
                xml_escape(&f.rule),
                xml_escape(&f.location()),
                xml_escape(&f.message),
                xml_escape(&commit_suffix(f))
            );
        } else if f.ignored_file {
            out.push_str("<skipped message=\"warning: in a file .gitignore excludes\"/>");
        } else {
            out.push_str("<skipped message=\"not new (baseline or --new-from-rev)\"/>");
        }
        out.push_str("</testcase>\n");
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "    <testcase classname=\"armtune.gate\" name=\"scan error\"><error message=\"{}\"/></testcase>",
            xml_escape(e)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(gh_escape("a:b,c%\nd", true), "a%3Ab%2Cc%25%0Ad");
        assert_eq!(gh_escape("a:b", false), "a:b");
        assert_eq!(xml_escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(uri(std::path::Path::new("src/my file#1.rs")), "src/my%20file%231.rs");
    }
}
