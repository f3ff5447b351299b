//! Reading a `multipart/form-data` post, as SendGrid Inbound Parse sends.

use mailparse::MailHeaderMap;

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub name: String,
    /// Present on file fields (`attachment1`...).
    pub filename: Option<String>,
    /// The field's own `Content-Type`, when it declared one.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The fields of a form, in the order they were posted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Form {
    pub fields: Vec<Field>,
}

impl Form {
    /// Parses a form body. A form-data body is a MIME multipart, so it is
    /// read as one behind its `Content-Type` header.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Form, String> {
        let content_type =
            content_type.ok_or("missing Content-Type: expected multipart/form-data")?;
        if content_type.contains(['\r', '\n'])
            || !content_type
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        {
            return Err(format!(
                "Content-Type is {content_type}: expected multipart/form-data"
            ));
        }
        let mut document = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
        document.extend_from_slice(body);
        let form = mailparse::parse_mail(&document)
            .map_err(|err| format!("unreadable form body: {err}"))?;
        let mut fields = Vec::with_capacity(form.subparts.len());
        for part in &form.subparts {
            let disposition = part.get_content_disposition();
            let Some(name) = disposition.params.get("name").cloned() else {
                continue;
            };
            let bytes = part
                .get_body_raw()
                .map_err(|err| format!("unreadable form field `{name}`: {err}"))?;
            fields.push(Field {
                filename: disposition.params.get("filename").cloned(),
                content_type: part.headers.get_first_value("Content-Type"),
                name,
                bytes,
            });
        }
        if fields.is_empty() {
            return Err("the form has no fields".into());
        }
        Ok(Form { fields })
    }

    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// A text field, as UTF-8 (SendGrid posts text fields in UTF-8 unless
    /// `charsets` says otherwise; a stray byte must not lose the message).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|field| String::from_utf8_lossy(&field.bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_names_file_names_types_and_exact_bytes() {
        let jpeg: &[u8] = b"\xff\xd8\xff\xe0\r\n--not-the-boundary\r\n\x00\xff\xd9";
        let mut body = b"--b0\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nCam <cam@x.example>\r\n--b0\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"snap.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        body.extend_from_slice(jpeg);
        body.extend_from_slice(b"\r\n--b0--\r\n");
        let form = Form::parse(Some("multipart/form-data; boundary=b0"), &body).unwrap();
        assert_eq!(form.text("from").as_deref(), Some("Cam <cam@x.example>"));
        let file = form.get("attachment1").unwrap();
        assert_eq!(file.filename.as_deref(), Some("snap.jpg"));
        assert_eq!(file.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(file.bytes, jpeg);
    }

    #[test]
    fn a_body_that_is_not_form_data_is_refused() {
        assert!(Form::parse(Some("application/json"), b"{}")
            .unwrap_err()
            .contains("expected multipart/form-data"));
        assert!(Form::parse(None, b"x").unwrap_err().contains("missing"));
        assert!(
            Form::parse(Some("multipart/form-data; boundary=q"), b"garbage")
                .unwrap_err()
                .contains("no fields")
        );
    }
}
