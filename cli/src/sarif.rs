//! SARIF 2.1.0 output of `armtune check`, the format code-scanning dashboards ingest. Findings are
//! located by binary, function (a logical location) and address.

use std::path::Path;

use armtune_layout::{checks::RULES, Finding, Severity, Target};
use serde_json::{json, Value};

/// The SARIF log of one run.
pub fn report(binary: &Path, target: &Target, findings: &[Finding]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, text)| {
            json!({
                "id": id,
                "shortDescription": {"text": id.replace('-', " ")},
                "fullDescription": {"text": text},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "level": match f.severity {
                    Severity::Info => "note",
                    Severity::Warning => "warning",
                    Severity::Error => "error",
                },
                "message": {"text": format!("{} Fix: {}", f.message, f.hint)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": binary.display().to_string()},
                        "address": {"absoluteAddress": f.address, "name": f.function},
                    },
                    "logicalLocations": [{"name": f.function, "kind": "function"}],
                }],
            })
        })
        .collect();
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "armtune check",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "properties": {"target": target.name, "core": target.core},
            "results": results,
        }],
    })
}
