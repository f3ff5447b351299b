//! What is wrong with a configuration file: each error located, and all of
//! a file's errors together, so that one `ipcam config check` lists every
//! fix instead of revealing them one run at a time.

use std::fmt;
use std::path::PathBuf;

/// A configuration error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", Place(self))]
pub struct ConfigError {
    /// 1-based line of the offending key, when known.
    pub line: Option<usize>,
    /// The key: as a path (`cameras[1].labels[0]`) for the cross-key
    /// checks, as written in the file for what the parser refused.
    pub key: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

/// The `line 3, key `labels`: ` an error starts with, as far as known.
struct Place<'e>(&'e ConfigError);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.line, &self.0.key) {
            (Some(line), Some(key)) => write!(f, "line {line}, key `{key}`: "),
            (Some(line), None) => write!(f, "line {line}: "),
            (None, Some(key)) => write!(f, "key `{key}`: "),
            (None, None) => Ok(()),
        }
    }
}

/// Every error of one file, in the order of its lines; never empty.
///
/// An error that stops reading the file (bad syntax, a wrong type, an
/// unknown key) is necessarily alone; past it, every check runs and each
/// failing one adds its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Lines(&self.0))]
pub struct ConfigErrors(pub(super) Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in the order of the file's lines.
    pub fn as_slice(&self) -> &[ConfigError] {
        &self.0
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'e> IntoIterator for &'e ConfigErrors {
    type Item = &'e ConfigError;
    type IntoIter = std::slice::Iter<'e, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One error a line.
struct Lines<'e>(&'e [ConfigError]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Why [`Config::load`](super::Config::load) gave no configuration; each
/// line of its text starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file was read and is wrong: every error, one a line.
    #[error("{}", InFile(path, errors))]
    Invalid { path: PathBuf, errors: ConfigErrors },
}

/// The errors of a file, one a line, each starting with the file's path.
struct InFile<'e>(&'e PathBuf, &'e ConfigErrors);

impl fmt::Display for InFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.1.as_slice().iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}: {error}", self.0.display())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<usize>, key: Option<&str>, message: &str) -> ConfigError {
        ConfigError {
            line,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    #[test]
    fn an_error_says_as_much_of_its_place_as_is_known() {
        assert_eq!(
            error(Some(3), Some("labels"), "bad").to_string(),
            "line 3, key `labels`: bad"
        );
        assert_eq!(error(Some(3), None, "bad").to_string(), "line 3: bad");
        assert_eq!(error(None, Some("a"), "bad").to_string(), "key `a`: bad");
        assert_eq!(error(None, None, "bad").to_string(), "bad");
    }

    #[test]
    fn errors_are_printed_one_a_line_each_with_the_path_when_loaded() {
        let errors = ConfigErrors(vec![
            error(Some(1), Some("a"), "one"),
            error(Some(2), Some("b"), "two"),
        ]);
        assert_eq!(
            errors.to_string(),
            "line 1, key `a`: one\nline 2, key `b`: two"
        );
        let loaded = LoadError::Invalid {
            path: PathBuf::from("ipcam.toml"),
            errors,
        };
        assert_eq!(
            loaded.to_string(),
            "ipcam.toml: line 1, key `a`: one\nipcam.toml: line 2, key `b`: two"
        );
    }
}
