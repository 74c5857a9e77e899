//! `armtune check`'s part of the report: counts per rule, a heat view of the functions with
//! findings when a profile ranked them, and the findings with their disassembly excerpts.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Deserialize;

use super::{
    charts::{self, Heat},
    page::{cell, esc, num, sortable_table, Page},
};

/// Findings listed on the page, worst (and hottest) first; the JSON has them all.
const MAX_FINDINGS: usize = 1000;
/// Functions in the heat view.
const HEAT_ROWS: usize = 30;

/// What `armtune check --format json` writes.
#[derive(Debug, Deserialize)]
pub struct CheckDoc {
    /// The binary checked.
    pub binary: String,
    /// The target core.
    pub target: TargetDoc,
    /// Functions found.
    pub functions: usize,
    /// What the reader had to say about the binary.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The findings.
    pub findings: Vec<FindingDoc>,
    /// Every rule with its explanation.
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
}

/// The target core of a check.
#[derive(Debug, Deserialize)]
pub struct TargetDoc {
    /// Its name on the command line (`rpi4`).
    pub name: String,
    /// The core (`Cortex-A72 (Raspberry Pi 4)`).
    pub core: String,
}

/// One finding.
#[derive(Debug, Deserialize)]
pub struct FindingDoc {
    /// Rule id.
    pub rule: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// The function it is in.
    pub function: String,
    /// Its address.
    pub address: u64,
    /// What is wrong.
    pub message: String,
    /// What to do.
    #[serde(default)]
    pub hint: String,
    /// The function's share of the profile's samples, when `--profile` gave one.
    #[serde(default)]
    pub share: Option<f64>,
    /// `symbol+0xOFF (file:line)`.
    #[serde(default)]
    pub place: Option<String>,
    /// Disassembly around the address.
    #[serde(default)]
    pub excerpt: Vec<String>,
}

/// A rule and its explanation.
#[derive(Debug, Deserialize)]
pub struct RuleDoc {
    /// Rule id.
    pub id: String,
    /// Why it matters.
    pub explanation: String,
}

fn rank(severity: &str) -> u8 {
    match severity {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Adds the section of one check report.
pub fn add(page: &mut Page, doc: &CheckDoc, source: &str) {
    let count = |s: &str| doc.findings.iter().filter(|f| f.severity == s).count();
    let mut body = format!("<h2>Check: {} for {}</h2>", esc(&doc.binary), esc(&doc.target.core));
    let _ = write!(
        body,
        "<div class=\"facts\"><span>from: <b>{}</b></span><span>target: <b>{}</b></span><span>functions: <b>{}</b></span>\
         <span class=\"sev-error\">{} errors</span><span class=\"sev-warning\">{} warnings</span><span class=\"sev-info\">{} notes</span></div>",
        esc(source),
        esc(&doc.target.name),
        doc.functions,
        count("error"),
        count("warning"),
        count("info")
    );
    for note in &doc.notes {
        let _ = write!(body, "<p class=\"muted\">note: {}</p>", esc(note));
    }
    body.push_str(&rule_counts(doc));
    body.push_str(&heat(doc));
    body.push_str(&findings(doc));
    page.add("check", &format!("Check: {}", doc.binary.rsplit('/').next().unwrap_or(&doc.binary)), body);
}

/// Findings per rule and severity, with the rule's explanation on hover.
fn rule_counts(doc: &CheckDoc) -> String {
    let mut per_rule: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for f in &doc.findings {
        per_rule.entry(&f.rule).or_default()[rank(&f.severity) as usize] += 1;
    }
    let explain = |id: &str| doc.rules.iter().find(|r| r.id == id).map_or("", |r| r.explanation.as_str());
    let rows: Vec<Vec<String>> = per_rule
        .into_iter()
        .map(|(rule, [notes, warnings, errors])| {
            vec![
                format!("<td title=\"{}\">{}</td>", esc(explain(rule)), esc(rule)),
                num(errors as f64, &errors.to_string()),
                num(warnings as f64, &warnings.to_string()),
                num(notes as f64, &notes.to_string()),
            ]
        })
        .collect();
    format!("<h3>Findings per rule</h3>{}", sortable_table("rules", &["rule", "#errors", "#warnings", "#notes"], &rows))
}

/// The hottest functions with findings, by their share of the profile.
fn heat(doc: &CheckDoc) -> String {
    let mut per_function: BTreeMap<&str, (f64, usize, u8)> = BTreeMap::new();
    for f in &doc.findings {
        let Some(share) = f.share else { continue };
        let e = per_function.entry(&f.function).or_insert((share, 0, 0));
        e.1 += 1;
        e.2 = e.2.max(rank(&f.severity));
    }
    if per_function.is_empty() {
        return String::new();
    }
    let mut rows: Vec<_> = per_function.into_iter().filter(|(_, (share, _, _))| *share > 0.0).collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let heat: Vec<Heat> = rows
        .iter()
        .take(HEAT_ROWS)
        .map(|(name, (share, n, worst))| Heat {
            name: name.to_string(),
            share: *share,
            note: format!(
                "{n} finding{}, worst: {}",
                if *n == 1 { "" } else { "s" },
                ["note", "warning", "error"][*worst as usize]
            ),
        })
        .collect();
    if heat.is_empty() {
        return String::from("<p class=\"muted\">No function with findings ran in the profile.</p>");
    }
    format!(
        "<h3>Hot functions with findings</h3><p class=\"muted\">Share of the profile's samples; the hottest {} of {} functions with findings that ran.</p>{}",
        heat.len(),
        rows.len(),
        charts::heat(&heat)
    )
}

/// The findings, worst and hottest first, each with its hint and disassembly to unfold.
fn findings(doc: &CheckDoc) -> String {
    let mut order: Vec<&FindingDoc> = doc.findings.iter().collect();
    order.sort_by(|a, b| {
        b.share
            .unwrap_or(0.0)
            .total_cmp(&a.share.unwrap_or(0.0))
            .then(rank(&b.severity).cmp(&rank(&a.severity)))
            .then(a.address.cmp(&b.address))
    });
    let shown = order.len().min(MAX_FINDINGS);
    let with_share = order.iter().any(|f| f.share.is_some());
    let rows: Vec<Vec<String>> = order[..shown]
        .iter()
        .map(|f| {
            let mut row = vec![
                format!("<td class=\"sev-{0}\" data-v=\"{1}\">{0}</td>", esc(&f.severity), rank(&f.severity)),
                cell(&f.rule),
                cell(&f.function),
            ];
            if with_share {
                let s = f.share.unwrap_or(0.0);
                row.push(num(s, &format!("{:.1}%", s * 100.0)));
            }
            let place = f.place.clone().unwrap_or_else(|| format!("{:#x}", f.address));
            row.push(format!("<td data-v=\"{}\"><code>{}</code></td>", f.address, esc(&place)));
            let mut detail = format!("<details><summary>{}</summary><p>fix: {}</p>", esc(&f.message), esc(&f.hint));
            if !f.excerpt.is_empty() {
                let _ = write!(detail, "<pre class=\"asm\">{}</pre>", esc(&f.excerpt.join("\n")));
            }
            detail.push_str("</details>");
            row.push(format!("<td>{detail}</td>"));
            row
        })
        .collect();
    let head: &[&str] = if with_share {
        &["severity", "rule", "function", "#samples", "where", "finding"]
    } else {
        &["severity", "rule", "function", "where", "finding"]
    };
    let more = if shown < order.len() {
        format!(" (the first {shown} of {}; the JSON report has every one)", order.len())
    } else {
        String::new()
    };
    format!("<h3>Findings{}</h3>{}", esc(&more), sortable_table("findings", head, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: serde_json::Value) -> CheckDoc {
        serde_json::from_value(json).unwrap()
    }

    fn finding(function: &str, severity: &str, share: Option<f64>) -> serde_json::Value {
        serde_json::json!({"rule": "branch-density", "severity": severity, "function": function, "address": 4096,
            "message": "3 branches", "hint": "spread", "share": share, "excerpt": ["  > 0x1000  d65f03c0  ret"]})
    }

    #[test]
    fn findings_show_their_disassembly_and_the_heat_view_ranks_by_share() {
        let d = doc(serde_json::json!({"binary": "/bin/x", "target": {"name": "rpi4", "core": "Cortex-A72"},
            "functions": 3, "findings": [finding("cold", "info", Some(0.01)), finding("hot", "warning", Some(0.6)),
            finding("hot", "info", Some(0.6))], "rules": [{"id": "branch-density", "explanation": "too many"}]}));
        let mut page = Page::new("t");
        add(&mut page, &d, "c.json");
        let html = page.render();
        assert!(html.contains("<pre class=\"asm\">  &gt; 0x1000  d65f03c0  ret</pre>"));
        assert!(html.contains("<td title=\"too many\">branch-density</td>"));
        let hot = html.find("data-share=\"0.600000\"").unwrap();
        let cold = html.find("data-share=\"0.010000\"").unwrap();
        assert!(hot < cold);
        assert!(html.contains("2 findings, worst: warning"));
        assert!(html.find("<td>hot</td>").unwrap() < html.find("<td>cold</td>").unwrap(), "hottest first");
    }

    #[test]
    fn without_a_profile_there_is_no_heat_view_and_no_samples_column() {
        let d = doc(serde_json::json!({"binary": "/bin/x", "target": {"name": "rpi4", "core": "Cortex-A72"},
            "functions": 3, "findings": [finding("f", "warning", None)]}));
        let mut page = Page::new("t");
        add(&mut page, &d, "c.json");
        let html = page.render();
        assert!(!html.contains("class=\"chart heat\"") && !html.contains(">samples</th>"));
    }
}
