//! Function names as each language's tools print them.

use tree_sitter::Node;

use crate::lang::Language;

fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or("?")
}

fn field_text<'a>(node: Node, field: &str, src: &'a [u8]) -> Option<&'a str> {
    node.child_by_field_name(field).map(|n| text(n, src))
}

/// The last path element of a qualified name (`(*T).M` → `M`, `a::b` → `b`).
pub fn base_name(name: &str) -> &str {
    let after_dot = name.rsplit('.').next().unwrap_or(name);
    after_dot.rsplit("::").next().unwrap_or(after_dot)
}

/// Name of a function-defining node; `ancestors` are its ancestors, the root first (the walk's
/// path: tree-sitter's `parent()` searches down from the root at each call).
pub fn function_name(lang: Language, node: Node, ancestors: &[Node], src: &[u8]) -> String {
    match lang {
        Language::Go => go_name(node, src),
        Language::Rust => qualify(scopes(lang, ancestors, src), field_text(node, "name", src).unwrap_or("?"), "::"),
        Language::C | Language::Cpp => {
            let own = c_declarator_name(node, src).unwrap_or_else(|| "?".into());
            qualify(scopes(lang, ancestors, src), &own, "::")
        }
        Language::Python => qualify(scopes(lang, ancestors, src), field_text(node, "name", src).unwrap_or("?"), "."),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            qualify(scopes(lang, ancestors, src), field_text(node, "name", src).unwrap_or("<anonymous>"), ".")
        }
        // lizard's form: `Class::method`.
        Language::Kotlin | Language::Swift | Language::Scala => {
            qualify(scopes(lang, ancestors, src), keyword_or_name(node, src), "::")
        }
        Language::Java | Language::CSharp | Language::Php => {
            qualify(scopes(lang, ancestors, src), field_text(node, "name", src).unwrap_or("?"), "::")
        }
        Language::Ruby => {
            let own = field_text(node, "name", src).unwrap_or("?");
            let own = match field_text(node, "object", src) {
                Some(object) => format!("{object}.{own}"),
                None => own.to_string(),
            };
            qualify(scopes(lang, ancestors, src), &own, "::")
        }
        // As written: `f`, `M.f`, `obj:m`.
        Language::Lua | Language::Shell => field_text(node, "name", src).unwrap_or("?").to_string(),
    }
}

/// A Kotlin, Swift or Scala function's own name: its `name`, or for the kinds that have none the
/// keyword that declares them (`constructor`, `init`'s kin, a property's `get` / `set`).
fn keyword_or_name<'a>(node: Node, src: &'a [u8]) -> &'a str {
    match node.kind() {
        "secondary_constructor" => "constructor",
        "deinit_declaration" => "deinit",
        "subscript_declaration" => "subscript",
        "getter" | "computed_getter" => "get",
        "setter" | "computed_setter" => "set",
        _ => field_text(node, "name", src).unwrap_or("?"),
    }
}

fn qualify(mut scopes: Vec<String>, own: &str, sep: &str) -> String {
    scopes.push(own.to_string());
    scopes.join(sep)
}

/// gocyclo's form: `F`, `(T).M`, `(*T).M` (type parameters dropped).
fn go_name(node: Node, src: &[u8]) -> String {
    let name = field_text(node, "name", src).unwrap_or("?");
    let Some(receiver) = node.child_by_field_name("receiver") else {
        return name.to_string();
    };
    let mut cursor = receiver.walk();
    let Some(param) = receiver.named_children(&mut cursor).find(|c| c.kind() == "parameter_declaration") else {
        return name.to_string();
    };
    let Some(ty) = param.child_by_field_name("type") else { return name.to_string() };
    format!("({}).{name}", go_receiver(ty, src))
}

fn go_receiver(ty: Node, src: &[u8]) -> String {
    match ty.kind() {
        "pointer_type" => {
            let mut cursor = ty.walk();
            let inner = ty.named_children(&mut cursor).next();
            format!("*{}", inner.map(|i| go_receiver(i, src)).unwrap_or_default())
        }
        "generic_type" => ty.child_by_field_name("type").map(|t| text(t, src).to_string()).unwrap_or_default(),
        "parenthesized_type" => {
            let mut cursor = ty.walk();
            let inner = ty.named_children(&mut cursor).next();
            inner.map(|i| go_receiver(i, src)).unwrap_or_default()
        }
        _ => text(ty, src).to_string(),
    }
}

/// The declarator name of a C/C++ function definition (`f`, `C::g`, `~C`, `operator==`).
fn c_declarator_name(node: Node, src: &[u8]) -> Option<String> {
    let mut declarator = node.child_by_field_name("declarator")?;
    for _ in 0..16 {
        if declarator.kind() == "function_declarator" {
            let inner = declarator.child_by_field_name("declarator")?;
            return Some(text(inner, src).to_string());
        }
        declarator = declarator.child_by_field_name("declarator")?;
    }
    None
}

/// Names of the enclosing classes, impls, namespaces and functions among `ancestors`, outermost
/// first.
fn scopes(lang: Language, ancestors: &[Node], src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for &n in ancestors {
        let name = match (lang, n.kind()) {
            (Language::Rust, "impl_item") => n.child_by_field_name("type").map(|t| rust_type_name(t, src)),
            (Language::Rust, "trait_item") => field_text(n, "name", src).map(String::from),
            (Language::Rust, "function_item") => field_text(n, "name", src).map(String::from),
            (Language::Cpp, "class_specifier" | "struct_specifier" | "namespace_definition") => {
                field_text(n, "name", src).map(String::from)
            }
            (Language::Python, "class_definition" | "function_definition") => {
                field_text(n, "name", src).map(String::from)
            }
            (
                Language::JavaScript | Language::TypeScript | Language::Tsx,
                "class_declaration" | "class" | "abstract_class_declaration",
            ) => field_text(n, "name", src).map(String::from),
            (Language::JavaScript | Language::TypeScript | Language::Tsx, "function_declaration") => {
                field_text(n, "name", src).map(String::from)
            }
            (
                Language::Java,
                "class_declaration" | "interface_declaration" | "enum_declaration" | "record_declaration",
            )
            | (
                Language::CSharp,
                "namespace_declaration"
                | "file_scoped_namespace_declaration"
                | "class_declaration"
                | "struct_declaration"
                | "interface_declaration"
                | "record_declaration"
                | "enum_declaration",
            )
            | (
                Language::Php,
                "class_declaration" | "interface_declaration" | "trait_declaration" | "enum_declaration",
            )
            | (Language::Ruby, "class" | "module")
            | (Language::Kotlin, "class_declaration" | "object_declaration")
            | (Language::Swift, "class_declaration" | "protocol_declaration")
            | (Language::Scala, "class_definition" | "object_definition" | "trait_definition" | "enum_definition") => {
                field_text(n, "name", src).map(String::from)
            }
            (Language::CSharp, "local_function_statement" | "method_declaration" | "property_declaration") => {
                field_text(n, "name", src).map(String::from)
            }
            // A property's accessors are `Type::property::get`, as C#'s are.
            (Language::Swift, "property_declaration") => field_text(n, "name", src).map(String::from),
            (Language::Kotlin, "property_declaration") => {
                let mut cursor = n.walk();
                let declared = n.named_children(&mut cursor).find(|c| c.kind() == "variable_declaration");
                declared.and_then(|d| d.named_child(0)).map(|name| text(name, src).to_string())
            }
            _ => None,
        };
        if let Some(name) = name {
            out.push(name);
        }
    }
    out
}

fn rust_type_name(ty: Node, src: &[u8]) -> String {
    match ty.kind() {
        "generic_type" => ty.child_by_field_name("type").map(|t| text(t, src).to_string()).unwrap_or_default(),
        _ => text(ty, src).to_string(),
    }
}

/// How many of `ancestors` (the innermost last) declare the function literal they hold: the
/// variable declaration a literal assigned to a name is reported at is that many levels up.
pub fn declaration_levels(ancestors: &[Node]) -> usize {
    ancestors
        .iter()
        .rev()
        .take(4)
        .take_while(|p| {
            matches!(
                p.kind(),
                "expression_list"
                    | "var_spec"
                    | "var_declaration"
                    | "variable_declarator"
                    | "lexical_declaration"
                    | "variable_declaration"
                    | "export_statement"
            )
        })
        .count()
}

/// The name a top-level anonymous function is bound to: `var f = func...` (gocyclo names it by
/// the first variable of the spec), `const f = () => ...`, `obj.f = function...`, a class field.
/// `ancestors` are the literal's, the root first.
pub fn closure_name(lang: Language, ancestors: &[Node], src: &[u8]) -> Option<String> {
    let (&parent, above) = ancestors.split_last()?;
    let grandparent = above.last().copied();
    match lang {
        Language::Go => {
            // var_spec: name(s), [type], value: expression_list(func_literal, ...)
            let spec = if parent.kind() == "expression_list" { grandparent? } else { parent };
            if spec.kind() != "var_spec" && spec.kind() != "const_spec" {
                return None;
            }
            // Only a literal that is itself one of the values (not nested in a call).
            if parent.kind() != "expression_list" {
                return None;
            }
            field_text(spec, "name", src).map(String::from)
        }
        Language::JavaScript | Language::TypeScript | Language::Tsx => match parent.kind() {
            "variable_declarator" => field_text(parent, "name", src).map(String::from),
            "assignment_expression" => field_text(parent, "left", src).map(String::from),
            "pair" => field_text(parent, "key", src).map(String::from),
            "public_field_definition" | "field_definition" => {
                let own = field_text(parent, "name", src).or_else(|| field_text(parent, "property", src))?;
                Some(qualify(scopes(lang, above, src), own, "."))
            }
            _ => None,
        },
        Language::Python => match parent.kind() {
            "assignment" => field_text(parent, "left", src).map(String::from),
            _ => None,
        },
        Language::Rust => match parent.kind() {
            "let_declaration" => field_text(parent, "pattern", src).map(String::from),
            "static_item" | "const_item" => field_text(parent, "name", src).map(String::from),
            _ => None,
        },
        Language::C | Language::Cpp => match parent.kind() {
            "init_declarator" => field_text(parent, "declarator", src).map(String::from),
            _ => None,
        },
        // `local f = function() ... end`, `M.f = function() ... end`.
        Language::Lua => match parent.kind() {
            "expression_list" => {
                let statement = grandparent?;
                let names = statement.child_by_field_name("name").or_else(|| {
                    let mut cursor = statement.walk();
                    let list = statement.named_children(&mut cursor).find(|c| c.kind() == "variable_list");
                    list
                })?;
                Some(text(names, src).to_string())
            }
            _ => None,
        },
        Language::Ruby | Language::Php | Language::Java | Language::CSharp => match parent.kind() {
            "assignment" | "assignment_expression" | "variable_declarator" => {
                field_text(parent, "left", src).or_else(|| field_text(parent, "name", src)).map(String::from)
            }
            _ => None,
        },
        Language::Shell | Language::Kotlin | Language::Swift | Language::Scala => None,
    }
}

#[cfg(test)]
mod tests {
    use super::base_name;

    #[test]
    fn base_names() {
        assert_eq!(base_name("(*T).M"), "M");
        assert_eq!(base_name("a::b::c"), "c");
        assert_eq!(base_name("C.m"), "m");
        assert_eq!(base_name("f"), "f");
    }
}
