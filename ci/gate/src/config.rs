//! `armtune.toml`'s `[gate]` table: thresholds, per-path overrides and excludes, secret rule
//! switches and allowlists.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::Error;

/// The gate's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Cyclomatic complexity above this fails (gocyclo's `-over`: strictly greater).
    #[serde(default = "default_cyclomatic")]
    pub max_cyclomatic: u32,
    /// Cognitive complexity above this fails.
    #[serde(default = "default_cognitive")]
    pub max_cognitive: u32,
    /// Suppression comments must give a reason (`-- why`); one without is a finding.
    #[serde(default)]
    pub require_reason: bool,
    /// Paths (globs) no check looks at.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Settings for some paths.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// Secret scanning settings.
    #[serde(default)]
    pub secrets: SecretsConfig,
}

/// Settings for paths matching `paths`; the last matching override wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Override {
    /// Globs.
    pub paths: Vec<String>,
    /// Cyclomatic threshold here.
    pub max_cyclomatic: Option<u32>,
    /// Cognitive threshold here.
    pub max_cognitive: Option<u32>,
    /// Checks not run here: `complexity`, `secrets`.
    #[serde(default)]
    pub skip: Vec<String>,
}

/// `[gate.secrets]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretsConfig {
    /// Rule ids not run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Paths (globs) not scanned for secrets.
    #[serde(default)]
    pub allow_paths: Vec<String>,
    /// Secret values matching these regexes are not reported.
    #[serde(default)]
    pub allow_regexes: Vec<String>,
}

fn default_cyclomatic() -> u32 {
    15
}

fn default_cognitive() -> u32 {
    15
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_cyclomatic: default_cyclomatic(),
            max_cognitive: default_cognitive(),
            require_reason: false,
            exclude: Vec::new(),
            overrides: Vec::new(),
            secrets: SecretsConfig::default(),
        }
    }
}

#[derive(Deserialize)]
struct File {
    gate: Option<Config>,
}

impl Config {
    /// Reads the `[gate]` table of a TOML file (other tables are other tools' business).
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let gate_only = toml::Table::from_iter(table.get("gate").map(|g| ("gate".to_string(), g.clone())));
        let file: File = gate_only.try_into().map_err(|e: toml::de::Error| e.message().to_string())?;
        Ok(file.gate.unwrap_or_default())
    }
}

/// The config compiled for matching paths.
pub struct Resolved {
    /// The settings.
    pub config: Config,
    exclude: GlobSet,
    secret_allow: GlobSet,
    overrides: Vec<GlobSet>,
}

/// Effective settings for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathSettings {
    /// Cyclomatic threshold.
    pub max_cyclomatic: u32,
    /// Cognitive threshold.
    pub max_cognitive: u32,
    /// Measure complexity here.
    pub complexity: bool,
    /// Scan for secrets here.
    pub secrets: bool,
}

fn globs(patterns: &[String]) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| Error::Config(format!("glob {p:?}: {e}")))?);
        // `dir/**` should also match `dir` itself, and a bare `vendor` any `vendor/` subtree.
        if !p.contains('/') && !p.contains('*') {
            b.add(Glob::new(&format!("**/{p}/**")).map_err(|e| Error::Config(format!("glob {p:?}: {e}")))?);
        }
    }
    b.build().map_err(|e| Error::Config(e.to_string()))
}

impl Resolved {
    /// Compiles the globs.
    pub fn new(config: Config) -> Result<Resolved, Error> {
        Ok(Resolved {
            exclude: globs(&config.exclude)?,
            secret_allow: globs(&config.secrets.allow_paths)?,
            overrides: config.overrides.iter().map(|o| globs(&o.paths)).collect::<Result<_, _>>()?,
            config,
        })
    }

    /// Settings for `path` (relative to the scan root).
    pub fn for_path(&self, path: &Path) -> PathSettings {
        let mut s = PathSettings {
            max_cyclomatic: self.config.max_cyclomatic,
            max_cognitive: self.config.max_cognitive,
            complexity: true,
            secrets: !self.secret_allow.is_match(path),
        };
        if self.exclude.is_match(path) {
            s.complexity = false;
            s.secrets = false;
            return s;
        }
        for (o, set) in self.config.overrides.iter().zip(&self.overrides) {
            if set.is_match(path) {
                s.max_cyclomatic = o.max_cyclomatic.unwrap_or(s.max_cyclomatic);
                s.max_cognitive = o.max_cognitive.unwrap_or(s.max_cognitive);
                if o.skip.iter().any(|k| k == "complexity") {
                    s.complexity = false;
                }
                if o.skip.iter().any(|k| k == "secrets") {
                    s.secrets = false;
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_excludes() {
        let config = Config::parse(
            r#"
            [package]
            name = "other tools' table"
            [gate]
            max-cyclomatic = 10
            exclude = ["vendor"]
            [[gate.overrides]]
            paths = ["**/*_test.go"]
            max-cyclomatic = 30
            skip = ["secrets"]
            [gate.secrets]
            allow-paths = ["testdata/**"]
            "#,
        )
        .unwrap();
        let r = Resolved::new(config).unwrap();
        let main = r.for_path(Path::new("cmd/main.go"));
        assert_eq!((main.max_cyclomatic, main.max_cognitive, main.complexity, main.secrets), (10, 15, true, true));
        let test = r.for_path(Path::new("pkg/a_test.go"));
        assert_eq!((test.max_cyclomatic, test.secrets), (30, false));
        assert!(!r.for_path(Path::new("vendor/x/y.go")).complexity);
        assert!(!r.for_path(Path::new("a/vendor/y.go")).secrets);
        assert!(!r.for_path(Path::new("testdata/keys.pem")).secrets);
        assert!(r.for_path(Path::new("testdata/keys.go")).complexity);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Config::parse("[gate]\nmax-cyclomatc = 3\n").unwrap_err();
        assert!(err.contains("max-cyclomatc"), "{err}");
        assert_eq!(Config::parse("").unwrap().max_cyclomatic, 15);
    }
}
