//! Where an error is: the line and the key, in the words of the file.

use super::ConfigError;

/// Turns a TOML error into one that names the line and the key.
pub(super) fn locate(text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err.span().map(|span| {
        let before = &text.as_bytes()[..span.start.min(text.len())];
        before.iter().filter(|byte| **byte == b'\n').count() + 1
    });
    let key = line.and_then(|line| key_on_line(text.lines().nth(line - 1)?));
    ConfigError {
        line,
        key,
        message: in_plain_words(err.message().trim()),
    }
}

/// The key a line sets (`labels = [...]`), or the table it opens
/// (`[serve]`, `[[cameras]]`).
fn key_on_line(source: &str) -> Option<String> {
    let source = source.trim();
    let key = if source.starts_with('[') {
        source.trim_matches(['[', ']']).trim()
    } else {
        source.split_once('=')?.0.trim()
    };
    (!key.is_empty()).then(|| key.to_string())
}

/// TOML and serde speak of sequences, maps and f64; a person writing the
/// file thinks of lists, tables and numbers. Also says what to add when a
/// required key is missing.
fn in_plain_words(message: &str) -> String {
    let mut plain = message
        .replace(
            "expected a sequence",
            "expected a list in brackets, such as [\"person\", \"car\"]",
        )
        .replace("expected a map", "expected a table of keys")
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number, 0 or more")
        .replace("expected a boolean", "expected true or false");
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        plain.push_str(&format!(": add `{field} = ...` to this table"));
    }
    plain
}

#[cfg(test)]
mod tests {
    use crate::config::*;

    #[test]
    fn misspelt_key_names_the_line_the_key_and_the_valid_keys() {
        let text = "[defaults]\nlabels = [\"person\"]\nmin_confidance = 70\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("min_confidance"));
        assert!(err.message.contains("min_confidence"), "{err}");
    }

    #[test]
    fn misspelt_table_is_named_with_the_valid_tables() {
        let err = Config::parse("[serv]\nsmtp = \"0.0.0.0:25\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("serv"));
        assert!(err.message.contains("`serve`"), "{err}");
    }

    #[test]
    fn camera_without_name_says_what_to_add() {
        let err = Config::parse("[[cameras]]\nfrom = \"a@b\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("cameras"));
        assert!(err.message.contains("add `name = ...`"), "{err}");
    }

    #[test]
    fn type_errors_speak_of_lists_and_numbers() {
        let err = Config::parse("[defaults]\nlabels = \"person\"\n").unwrap_err();
        assert!(err.message.contains("a list in brackets"), "{err}");
        let err = Config::parse("[defaults]\nmin_confidence = \"high\"\n").unwrap_err();
        assert!(err.message.contains("expected a number"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = "[defaults]\nlabels = \"person\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("labels"));
    }
}
