//! What each language's tree-sitter node kinds mean to the complexity walker.
//!
//! The per-language rules (documented in the README's gate section):
//! - cyclomatic: 1, plus one per `if` / `else if` / `elif`, loop (`loop` in Rust excepted: it has no
//!   condition), non-default `case` / match arm / Go comm clause, `catch` / `except`, ternary, Rust
//!   match guard, Python comprehension `for` / `if`, and each `&&` / `||` (`and` / `or`, and `??` in
//!   JavaScript / TypeScript). For Go this is exactly gocyclo's rule set.
//! - cognitive: SonarSource's rules, as gocognit applies them to Go.

use tree_sitter::Node;

use crate::lang::Language;

/// The part a node plays in complexity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A named function or method: a unit of its own.
    Function,
    /// An anonymous function: counts toward the enclosing function, one nesting level deeper.
    Closure,
    /// `if` (or `if` expression).
    If,
    /// Python's `elif` clause.
    Elif,
    /// A loop counted by both measures.
    Loop,
    /// A loop without a condition (Rust `loop`): cognitive only.
    BareLoop,
    /// `switch`, `match`, `select`: cognitive only (its cases count for cyclomatic).
    Switch,
    /// A non-default case, arm or comm clause: cyclomatic only.
    Case,
    /// `catch` / `except`.
    Catch,
    /// `a ? b : c`, `b if a else c`.
    Ternary,
    /// A logical operator expression (`&&`, `||`, ...): the operator text.
    Logical,
    /// A Rust match guard or a comprehension clause: one more path, cyclomatic only.
    Decision,
    /// `break` / `continue` to a label, `goto`: cognitive only.
    Jump,
    /// A call (direct recursion adds to cognitive).
    Call,
    /// Parentheses: they end a sequence of logical operators.
    Paren,
    /// Anything else.
    Other,
}

/// The role of `node` in `lang`.
pub fn role(lang: Language, node: Node, src: &[u8]) -> Role {
    let kind = node.kind();
    match lang {
        Language::Go => match kind {
            "function_declaration" | "method_declaration" => Role::Function,
            "func_literal" => Role::Closure,
            "if_statement" => Role::If,
            "for_statement" => Role::Loop,
            "expression_switch_statement" | "type_switch_statement" | "select_statement" => Role::Switch,
            "expression_case" | "type_case" | "communication_case" => Role::Case,
            "binary_expression" => logical(node, src, &["&&", "||"]),
            "break_statement" | "continue_statement" => labeled(node, "label_name"),
            "goto_statement" => Role::Jump,
            "call_expression" => Role::Call,
            "parenthesized_expression" => Role::Paren,
            _ => Role::Other,
        },
        Language::Rust => match kind {
            "function_item" => Role::Function,
            "closure_expression" => Role::Closure,
            "if_expression" => Role::If,
            "for_expression" | "while_expression" => Role::Loop,
            "loop_expression" => Role::BareLoop,
            "match_expression" => Role::Switch,
            "match_arm" => {
                if is_wildcard_arm(node, src) {
                    Role::Other
                } else {
                    Role::Case
                }
            }
            "match_pattern" if node.child_by_field_name("condition").is_some() => Role::Decision,
            "binary_expression" => logical(node, src, &["&&", "||"]),
            "break_expression" | "continue_expression" => labeled(node, "label"),
            "call_expression" => Role::Call,
            "parenthesized_expression" => Role::Paren,
            _ => Role::Other,
        },
        Language::C | Language::Cpp => match kind {
            "function_definition" => Role::Function,
            "lambda_expression" => Role::Closure,
            "if_statement" => Role::If,
            "for_statement" | "for_range_loop" | "while_statement" | "do_statement" => Role::Loop,
            "switch_statement" => Role::Switch,
            "case_statement" if node.child_by_field_name("value").is_some() => Role::Case,
            "catch_clause" => Role::Catch,
            "conditional_expression" => Role::Ternary,
            "binary_expression" => logical(node, src, &["&&", "||", "and", "or"]),
            "goto_statement" => Role::Jump,
            "call_expression" => Role::Call,
            "parenthesized_expression" => Role::Paren,
            _ => Role::Other,
        },
        Language::Python => match kind {
            "function_definition" => Role::Function,
            "lambda" => Role::Closure,
            "if_statement" => Role::If,
            "elif_clause" => Role::Elif,
            "for_statement" | "while_statement" => Role::Loop,
            "match_statement" => Role::Switch,
            "case_clause" => {
                if is_wildcard_case(node, src) {
                    Role::Other
                } else {
                    Role::Case
                }
            }
            "except_clause" | "except_group_clause" => Role::Catch,
            "conditional_expression" => Role::Ternary,
            "boolean_operator" => logical(node, src, &["and", "or"]),
            "for_in_clause" | "if_clause" => Role::Decision,
            "call" => Role::Call,
            "parenthesized_expression" => Role::Paren,
            _ => Role::Other,
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx => match kind {
            "function_declaration" | "generator_function_declaration" | "method_definition" => Role::Function,
            "arrow_function" | "function_expression" | "function" | "generator_function" => Role::Closure,
            "if_statement" => Role::If,
            "for_statement" | "for_in_statement" | "while_statement" | "do_statement" => Role::Loop,
            "switch_statement" => Role::Switch,
            "switch_case" => Role::Case,
            "catch_clause" => Role::Catch,
            "ternary_expression" => Role::Ternary,
            "binary_expression" => logical(node, src, &["&&", "||", "??"]),
            "break_statement" | "continue_statement" => labeled(node, "statement_identifier"),
            "call_expression" => Role::Call,
            "parenthesized_expression" => Role::Paren,
            _ => Role::Other,
        },
    }
}

/// The logical operator of a binary expression node, if it has one of `ops`.
pub fn logical_operator<'a>(node: Node, src: &'a [u8], ops: &[&str]) -> Option<&'a str> {
    let op = node.child_by_field_name("operator")?;
    let text = op.utf8_text(src).ok()?;
    ops.contains(&text).then_some(text)
}

/// The logical operators of `lang`.
pub fn logical_ops(lang: Language) -> &'static [&'static str] {
    match lang {
        Language::Go | Language::Rust => &["&&", "||"],
        Language::C | Language::Cpp => &["&&", "||", "and", "or"],
        Language::Python => &["and", "or"],
        Language::JavaScript | Language::TypeScript | Language::Tsx => &["&&", "||", "??"],
    }
}

fn logical(node: Node, src: &[u8], ops: &[&str]) -> Role {
    if logical_operator(node, src, ops).is_some() {
        Role::Logical
    } else {
        Role::Other
    }
}

fn labeled(node: Node, label_kind: &str) -> Role {
    let mut cursor = node.walk();
    let has_label = node.named_children(&mut cursor).any(|c| c.kind() == label_kind);
    if has_label {
        Role::Jump
    } else {
        Role::Other
    }
}

/// `_ => ...` without a guard: Rust's default arm.
fn is_wildcard_arm(arm: Node, src: &[u8]) -> bool {
    arm.child_by_field_name("pattern")
        .is_some_and(|p| p.child_by_field_name("condition").is_none() && p.utf8_text(src).map(str::trim) == Ok("_"))
}

/// `case _:` without a guard: Python's default case.
fn is_wildcard_case(case: Node, src: &[u8]) -> bool {
    if case.child_by_field_name("guard").is_some() {
        return false;
    }
    let mut cursor = case.walk();
    let patterns: Vec<Node> = case.named_children(&mut cursor).filter(|c| c.kind() == "case_pattern").collect();
    patterns.len() == 1 && patterns[0].utf8_text(src).map(str::trim) == Ok("_")
}

/// Node kinds whose children are a body, walked one nesting level deeper under a structure.
pub fn is_body(kind: &str) -> bool {
    matches!(
        kind,
        "block"
            | "compound_statement"
            | "statement_block"
            | "statement_list"
            | "match_block"
            | "switch_body"
            | "declaration_list"
            | "field_declaration_list"
            | "expression_case"
            | "type_case"
            | "communication_case"
            | "default_case"
            | "case_statement"
    )
}
