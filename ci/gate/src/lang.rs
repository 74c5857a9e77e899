//! Which language a file is written in, and its tree-sitter grammar.

use std::path::Path;

/// A language the complexity check understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Go (`.go`).
    Go,
    /// Rust (`.rs`).
    Rust,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp`, `.hh`, `.hxx`).
    Cpp,
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Java (`.java`).
    Java,
    /// C# (`.cs`).
    CSharp,
    /// Ruby (`.rb`, `.rake`, `.gemspec`).
    Ruby,
    /// PHP (`.php`).
    Php,
    /// Lua (`.lua`).
    Lua,
    /// Shell: bash and POSIX sh (`.sh`, `.bash`).
    Shell,
}

impl Language {
    /// Every language, in the order of [`Language::index`].
    pub const ALL: [Language; 14] = [
        Language::Go,
        Language::Rust,
        Language::C,
        Language::Cpp,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Java,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Lua,
        Language::Shell,
    ];

    /// Its position in [`Language::ALL`] (tables per language are indexed by it).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Language {
    /// The language of `path`, by its extension.
    pub fn of(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "go" => Language::Go,
            "rs" => Language::Rust,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" => Language::Cpp,
            "py" | "pyi" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "java" => Language::Java,
            "cs" => Language::CSharp,
            "rb" | "rake" | "gemspec" => Language::Ruby,
            "php" => Language::Php,
            "lua" => Language::Lua,
            "sh" | "bash" => Language::Shell,
            _ => return None,
        })
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            // PHP files start in HTML: the grammar with the text around `<?php` tags.
            Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
            Language::Lua => tree_sitter_lua::LANGUAGE.into(),
            Language::Shell => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Language::Go => "Go",
            Language::Rust => "Rust",
            Language::C => "C",
            Language::Cpp => "C++",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::TypeScript | Language::Tsx => "TypeScript",
            Language::Java => "Java",
            Language::CSharp => "C#",
            Language::Ruby => "Ruby",
            Language::Php => "PHP",
            Language::Lua => "Lua",
            Language::Shell => "shell",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        assert_eq!(Language::of(Path::new("a/b.go")), Some(Language::Go));
        assert_eq!(Language::of(Path::new("x.hpp")), Some(Language::Cpp));
        assert_eq!(Language::of(Path::new("x.tsx")), Some(Language::Tsx));
        assert_eq!(Language::of(Path::new("A.java")), Some(Language::Java));
        assert_eq!(Language::of(Path::new("deploy.sh")), Some(Language::Shell));
        assert_eq!(Language::of(Path::new("Makefile")), None);
        assert_eq!(Language::of(Path::new("x.txt")), None);
    }

    #[test]
    fn every_grammar_loads() {
        for (i, lang) in Language::ALL.into_iter().enumerate() {
            assert_eq!(lang.index(), i);
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&lang.grammar()).unwrap_or_else(|e| panic!("{lang:?}: {e}"));
        }
    }
}
