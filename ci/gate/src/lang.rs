//! Which language a file is written in, and its tree-sitter grammar.

use std::path::Path;

use tree_sitter_language::LanguageFn;

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
    /// Kotlin (`.kt`, `.kts`).
    Kotlin,
    /// Swift (`.swift`).
    Swift,
    /// Scala (`.scala`, `.sc`).
    Scala,
}

impl Language {
    /// Every language, in the order of [`Language::index`].
    pub const ALL: [Language; 17] = [
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
        Language::Kotlin,
        Language::Swift,
        Language::Scala,
    ];

    /// Its position in [`Language::ALL`] (tables per language are indexed by it).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What the gate knows of a language: its name in reports, its file extensions, its grammar.
struct Spec {
    name: &'static str,
    extensions: &'static [&'static str],
    grammar: LanguageFn,
}

const fn spec(name: &'static str, extensions: &'static [&'static str], grammar: LanguageFn) -> Spec {
    Spec { name, extensions, grammar }
}

/// One per language, in the order of [`Language::ALL`].
const SPECS: [Spec; Language::ALL.len()] = [
    spec("Go", &["go"], tree_sitter_go::LANGUAGE),
    spec("Rust", &["rs"], tree_sitter_rust::LANGUAGE),
    spec("C", &["c", "h"], tree_sitter_c::LANGUAGE),
    spec("C++", &["cc", "cpp", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp"], tree_sitter_cpp::LANGUAGE),
    spec("Python", &["py", "pyi"], tree_sitter_python::LANGUAGE),
    spec("JavaScript", &["js", "mjs", "cjs", "jsx"], tree_sitter_javascript::LANGUAGE),
    spec("TypeScript", &["ts", "mts", "cts"], tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
    spec("TypeScript", &["tsx"], tree_sitter_typescript::LANGUAGE_TSX),
    spec("Java", &["java"], tree_sitter_java::LANGUAGE),
    spec("C#", &["cs"], tree_sitter_c_sharp::LANGUAGE),
    spec("Ruby", &["rb", "rake", "gemspec"], tree_sitter_ruby::LANGUAGE),
    // PHP files start in HTML: the grammar with the text around `<?php` tags.
    spec("PHP", &["php"], tree_sitter_php::LANGUAGE_PHP),
    spec("Lua", &["lua"], tree_sitter_lua::LANGUAGE),
    spec("shell", &["sh", "bash"], tree_sitter_bash::LANGUAGE),
    spec("Kotlin", &["kt", "kts"], tree_sitter_kotlin_ng::LANGUAGE),
    spec("Swift", &["swift"], tree_sitter_swift::LANGUAGE),
    spec("Scala", &["scala", "sc"], tree_sitter_scala::LANGUAGE),
];

impl Language {
    /// The language of `path`, by its extension.
    pub fn of(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        let i = SPECS.iter().position(|s| s.extensions.contains(&ext))?;
        Some(Language::ALL[i])
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        SPECS[self.index()].grammar.into()
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        SPECS[self.index()].name
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
        assert_eq!(Language::of(Path::new("Main.kt")), Some(Language::Kotlin));
        assert_eq!(Language::of(Path::new("App.swift")), Some(Language::Swift));
        assert_eq!(Language::of(Path::new("build.sc")), Some(Language::Scala));
        assert_eq!(
            (Language::Cpp.name(), Language::Tsx.name(), Language::Scala.name()),
            ("C++", "TypeScript", "Scala")
        );
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
