//! The probes crate's modules depend on each other one way: no module reaches, through the modules
//! it uses, back to itself. A circle (session <-> attach, once) means two modules that can only be
//! understood together; this test keeps them from coming back.

use std::collections::{BTreeMap, BTreeSet};

/// Module -> modules it names as `crate::NAME` outside comments and its tests.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path.file_stem().and_then(|s| s.to_str()).map(str::to_string) else { continue };
        // A directory module (`families/`) is one node: the uses of all its files.
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect()
        } else if path.extension().is_some_and(|e| e == "rs") && module != "lib" {
            vec![path.clone()]
        } else {
            continue;
        };
        let mut uses: BTreeSet<String> =
            files.iter().flat_map(|f| crate_uses(&std::fs::read_to_string(f).unwrap())).collect();
        uses.remove(&module);
        graph.insert(module, uses);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for uses in graph.values_mut() {
        uses.retain(|m| modules.contains(m));
    }
    graph
}

/// The modules a source file names: every `crate::NAME` path, and in `use crate::{a::X, b, ..}`
/// each item's first name (comments and the tests module left out).
fn crate_uses(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap();
    let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut uses = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + 7..];
        match rest.strip_prefix('{') {
            Some(items) => uses.extend(group_items(items)),
            None => uses.extend(ident(rest)),
        }
    }
    uses
}

/// The first name of each item of a `{a::X, b, c::{..}}` group (the text after its `{`).
fn group_items(items: &str) -> Vec<String> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, true);
    for (i, c) in items.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                out.extend(ident(&items[i..]));
                start = false;
            }
            _ => {}
        }
    }
    out
}

fn ident(s: &str) -> Option<String> {
    let name: String = s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit()).collect();
    (!name.is_empty()).then_some(name)
}

/// A path from `from` back to `to` through `graph`, if there is one.
fn path_back(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in &graph[from] {
        if next == to {
            return Some(vec![next.clone()]);
        }
        if seen.insert(next.clone()) {
            if let Some(mut path) = path_back(graph, next, to, seen) {
                path.insert(0, next.clone());
                return Some(path);
            }
        }
    }
    None
}

#[test]
fn no_module_reaches_back_to_itself() {
    let graph = graph();
    assert!(graph.contains_key("session") && graph["session"].contains("attach"), "the parser reads uses: {graph:?}");
    assert!(graph["session"].contains("families") && graph["events"].contains("families"), "{graph:?}");
    for module in graph.keys() {
        if let Some(path) = path_back(&graph, module, module, &mut BTreeSet::new()) {
            panic!("import circle: {module} -> {}", path.join(" -> "));
        }
    }
}
