//! SARIF 2.1.0 output of `armtune check`, the format code-scanning dashboards ingest. Findings are
//! located by binary, function (a logical location) and address.

use std::path::Path;

use armtune_layout::{
    checks::RULES,
    display::{symbol_offset, Lines},
    Binary, Finding, Severity, Target,
};
use serde_json::{json, Value};

/// The SARIF log of one run.
pub fn report(path: &Path, binary: &Binary, target: &Target, findings: &[Finding]) -> Value {
    let lines = Lines::open(path);
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
            // symbol+offset for code, the struct or global name otherwise; file:line from DWARF.
            let name = symbol_offset(binary, f.address).unwrap_or_else(|| f.function.clone());
            let mut physical = json!({
                "artifactLocation": {"uri": path.display().to_string()},
                "address": {"absoluteAddress": f.address, "name": name},
            });
            if let Some((file, line)) = lines.location(f.address).filter(|_| !f.function.starts_with("struct ")) {
                physical["artifactLocation"] = json!({"uri": file});
                physical["region"] = json!({"startLine": line});
                physical["address"]["fullyQualifiedName"] = json!(path.display().to_string());
            }
            json!({
                "ruleId": f.rule,
                "level": match f.severity {
                    Severity::Info => "note",
                    Severity::Warning => "warning",
                    Severity::Error => "error",
                },
                "message": {"text": format!("{} Fix: {}", f.message, f.hint)},
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{"name": name, "kind": if f.function.starts_with("struct ") { "type" } else { "function" }}],
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
