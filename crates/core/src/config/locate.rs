//! Where an error is: the line and the key, in the words of the file.
//!
//! Every position comes from the TOML parser, which records the span of
//! each key and each value it reads: an error in the second camera's
//! `labels` is then reported at that camera, where a search of the text for
//! `labels =` would find the first one in the file.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ConfigError;

/// The place of every key, table and list element of one file, by path.
pub(crate) struct Locator<'t> {
    text: &'t str,
    places: Vec<Place>,
}

/// One key, table or list element as the parser found it.
struct Place {
    /// The path checks name it by: `cameras[1].labels[0]`, `serve.username`.
    path: String,
    /// The key as written in the file; for a list element or a
    /// `[[cameras]]` entry, the key of the list.
    key: String,
    /// What the line points at: the key, the element, or the `[[...]]`
    /// header of an entry.
    at: Range<usize>,
    /// Where the key is written and where its value is, which a parser
    /// error's span falls in.
    covers: [Range<usize>; 2],
}

impl<'t> Locator<'t> {
    /// Indexes the parsed document `root` of `text`.
    pub(crate) fn new(text: &'t str, root: &DeTable<'_>) -> Self {
        let mut locator = Locator {
            text,
            places: Vec::new(),
        };
        locator.index_table(root, "");
        locator
    }

    fn index_table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            self.places.push(Place {
                path: path.clone(),
                key: name.to_string(),
                at: key.span(),
                covers: [key.span(), value.span()],
            });
            self.index_value(value, &path, name);
        }
    }

    fn index_value(&mut self, value: &Spanned<DeValue<'_>>, path: &str, key: &str) {
        match value.get_ref() {
            DeValue::Table(table) => self.index_table(table, path),
            DeValue::Array(elements) => {
                for (index, element) in elements.iter().enumerate() {
                    let path = format!("{path}[{index}]");
                    self.places.push(Place {
                        path: path.clone(),
                        key: key.to_string(),
                        at: element.span(),
                        covers: [element.span(), element.span()],
                    });
                    self.index_value(element, &path, key);
                }
            }
            _ => {}
        }
    }

    /// The 1-based line of the key, element or entry at `path`, when the
    /// file has it (a value left to its default has no line).
    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        self.places
            .iter()
            .find(|place| place.path == path)
            .map(|place| self.line_at(place.at.start))
    }

    /// The 1-based line the byte `offset` is on.
    fn line_at(&self, offset: usize) -> usize {
        let before = self
            .text
            .as_bytes()
            .get(..offset)
            .unwrap_or(self.text.as_bytes());
        before.iter().filter(|byte| **byte == b'\n').count() + 1
    }

    /// An error of the parser or of deserialisation, at the line its span
    /// starts on and named by the innermost key whose text or value holds
    /// that span.
    pub(crate) fn parser_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span();
        ConfigError {
            line: span.as_ref().map(|span| self.line_at(span.start)),
            key: span.and_then(|span| self.key_at(span)),
            message: in_plain_words(err.message().trim()),
        }
    }

    /// The key an error at `span` is in. The end is inclusive, because the
    /// parser points just past an unclosed list or a missing value.
    fn key_at(&self, span: Range<usize>) -> Option<String> {
        let offset = span.start;
        let innermost = self
            .places
            .iter()
            .flat_map(|place| place.covers.iter().map(move |range| (range, place)))
            .filter(|(range, _)| range.start <= offset && offset <= range.end)
            .min_by_key(|(range, _)| range.end - range.start)
            .map(|(_, place)| place.key.clone());
        // A key the parser refused (written twice, say) is in no table:
        // the error's span is then the key itself.
        innermost.or_else(|| {
            let written = self.text.get(span)?.trim();
            let bare = !written.is_empty()
                && written
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            bare.then(|| written.to_string())
        })
    }
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
        let err = one_error(text);
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("min_confidance"));
        assert!(err.message.contains("min_confidence"), "{err}");
    }

    #[test]
    fn misspelt_table_is_named_with_the_valid_tables() {
        let err = one_error("[serv]\nsmtp = \"0.0.0.0:25\"\n");
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("serv"));
        assert!(err.message.contains("`serve`"), "{err}");
    }

    #[test]
    fn camera_without_name_says_what_to_add() {
        let err = one_error("[[cameras]]\nfrom = \"a@b\"\n");
        assert_eq!(err.line, Some(1));
        assert_eq!(err.key.as_deref(), Some("cameras"));
        assert!(err.message.contains("add `name = ...`"), "{err}");
    }

    #[test]
    fn type_errors_speak_of_lists_and_numbers() {
        let err = one_error("[defaults]\nlabels = \"person\"\n");
        assert!(err.message.contains("a list in brackets"), "{err}");
        let err = one_error("[defaults]\nmin_confidence = \"high\"\n");
        assert!(err.message.contains("expected a number"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = "[defaults]\nlabels = \"person\"\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(2));
        assert_eq!(err.key.as_deref(), Some("labels"));
    }

    #[test]
    fn wrong_type_in_the_second_camera_is_reported_at_that_camera() {
        let text = "[defaults]\nlabels = [\"person\"]\n\n[[cameras]]\nname = \"a\"\nfrom = \"a@x.example\"\nlabels = [\"car\"]\n\n[[cameras]]\nname = \"b\"\nfrom = \"b@x.example\"\nlabels = [\n  \"person\",\n  7,\n]\n";
        let err = one_error(text);
        assert_eq!(err.line, Some(14), "{err}");
        assert_eq!(err.key.as_deref(), Some("labels"));
        assert!(err.message.contains("expected a label name"), "{err}");
    }

    #[test]
    fn syntax_error_names_its_line_and_key() {
        let err = one_error("[defaults]\nmin_confidence = \nlabels = [\"car\"]\n");
        assert_eq!(err.line, Some(2), "{err}");
        assert_eq!(err.key.as_deref(), Some("min_confidence"));
        let err = one_error("[defaults]\nlabels = [\"a\"]\nlabels = [\"b\"]\n");
        assert_eq!(err.line, Some(3), "{err}");
        assert_eq!(err.key.as_deref(), Some("labels"));
    }
}
