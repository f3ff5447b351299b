//! The alert as an e-mail with the picture: what a person opens on a
//! phone. Sent through SES on AWS and through an SMTP relay locally, both
//! behind the [`Mailer`](crate::ports::Mailer) port, which takes the
//! message whole.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::alert::Alert;
use crate::config::MailAddress;

/// An e-mail ready to hand to a mail service: its envelope and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The envelope sender, a bare address.
    pub from: String,
    /// The envelope recipients, bare addresses.
    pub to: Vec<String>,
    /// The whole MIME message.
    pub raw: Vec<u8>,
}

/// Why an alert e-mail could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the alert e-mail: {0}")]
pub(crate) struct EmailError(String);

/// Writes the alert as an e-mail from `from` to `to`: the readable text
/// with the link, an HTML version showing the annotated picture inline,
/// and the picture attached, so that it can be kept or forwarded.
pub(crate) fn compose(
    alert: &Alert,
    picture: Option<&[u8]>,
    link: Option<&str>,
    from: &MailAddress,
    to: &[MailAddress],
) -> Result<OutgoingMail, EmailError> {
    let mailbox = |address: &MailAddress| {
        address
            .0
            .parse::<Mailbox>()
            .map_err(|err| EmailError(format!("`{}`: {err}", address.0)))
    };
    let mut builder = Message::builder()
        .from(mailbox(from)?)
        .subject(alert.subject.clone());
    for recipient in to {
        builder = builder.to(mailbox(recipient)?);
    }
    let html = html(alert, picture.is_some(), link);
    let body = match picture {
        None => MultiPart::alternative_plain_html(alert.text.clone(), html),
        Some(jpeg) => {
            let jpeg_type =
                ContentType::parse("image/jpeg").map_err(|err| EmailError(err.to_string()))?;
            MultiPart::mixed()
                .multipart(
                    MultiPart::related()
                        .multipart(MultiPart::alternative_plain_html(alert.text.clone(), html))
                        .singlepart(
                            Attachment::new_inline(SNAPSHOT_ID.to_string())
                                .body(jpeg.to_vec(), jpeg_type.clone()),
                        ),
                )
                .singlepart(attachment(alert, jpeg, jpeg_type))
        }
    };
    let message = builder
        .multipart(body)
        .map_err(|err| EmailError(err.to_string()))?;
    Ok(OutgoingMail {
        from: from.bare(),
        to: to.iter().map(MailAddress::bare).collect(),
        raw: message.formatted(),
    })
}

/// The Content-ID the HTML refers to the inline picture by.
const SNAPSHOT_ID: &str = "snapshot";

fn attachment(alert: &Alert, jpeg: &[u8], jpeg_type: ContentType) -> SinglePart {
    let name: String = alert
        .camera
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Attachment::new(format!("{name}.jpg")).body(jpeg.to_vec(), jpeg_type)
}

/// The text as HTML, each line a line, the picture under it, then the
/// link.
fn html(alert: &Alert, with_picture: bool, link: Option<&str>) -> String {
    let mut html =
        String::from("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\n<p>");
    let lines: Vec<String> = alert.text.lines().map(escape).collect();
    html.push_str(&lines.join("<br>\n"));
    html.push_str("</p>\n");
    if with_picture {
        html.push_str(&format!(
            "<p><img src=\"cid:{SNAPSHOT_ID}\" alt=\"{}\" style=\"max-width:100%\"></p>\n",
            escape(&alert.subject)
        ));
    }
    if let Some(link) = link.filter(|link| link.starts_with("https://")) {
        html.push_str(&format!(
            "<p><a href=\"{}\">Open the picture</a></p>\n",
            escape(link)
        ));
    }
    html.push_str("</body></html>\n");
    html
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::grey_jpeg;

    fn alert() -> Alert {
        Alert {
            camera: "front door".into(),
            labels: vec!["Person".into()],
            subject: "Person at front door".into(),
            text: "Camera front door saw Person.\nWhen: Tue 1 Dec 2026, 19:33:26 CET\nPicture: https://b.s3.example/a.jpg?X-Amz-Signature=1&X-Amz-Expires=60\n".into(),
            json: serde_json::json!({}),
        }
    }

    fn address(text: &str) -> MailAddress {
        MailAddress::try_from(text.to_string()).unwrap()
    }

    /// The message, parsed back by the same MIME reader that reads the
    /// cameras' e-mails.
    fn parsed(mail: &OutgoingMail) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&mail.raw).unwrap()
    }

    fn parts<'a>(
        part: &'a mailparse::ParsedMail<'a>,
        found: &mut Vec<&'a mailparse::ParsedMail<'a>>,
    ) {
        found.push(part);
        for sub in &part.subparts {
            parts(sub, found);
        }
    }

    #[test]
    fn the_picture_is_inline_and_attached_with_the_text_and_the_link() {
        let jpeg = grey_jpeg(64, 48);
        let link = "https://b.s3.example/a.jpg?X-Amz-Signature=1&X-Amz-Expires=60";
        let mail = compose(
            &alert(),
            Some(&jpeg),
            Some(link),
            &address("Cameras <alerts@cams.example.com>"),
            &[
                address("me@home.example"),
                address("Partner <p@home.example>"),
            ],
        )
        .unwrap();
        assert_eq!(mail.from, "alerts@cams.example.com");
        assert_eq!(mail.to, ["me@home.example", "p@home.example"]);
        let message = parsed(&mail);
        use mailparse::MailHeaderMap;
        assert_eq!(
            message.headers.get_first_value("Subject").as_deref(),
            Some("Person at front door")
        );
        let mut all = Vec::new();
        parts(&message, &mut all);
        let types: Vec<String> = all.iter().map(|p| p.ctype.mimetype.clone()).collect();
        assert_eq!(
            types,
            [
                "multipart/mixed",
                "multipart/related",
                "multipart/alternative",
                "text/plain",
                "text/html",
                "image/jpeg",
                "image/jpeg"
            ]
        );
        let text = all[3].get_body().unwrap();
        assert!(text.contains(link), "{text}");
        let html = all[4].get_body().unwrap();
        assert!(html.contains("src=\"cid:snapshot\""), "{html}");
        assert!(
            html.contains("X-Amz-Signature=1&amp;X-Amz-Expires=60"),
            "{html}"
        );
        for picture in &all[5..] {
            assert_eq!(picture.get_body_raw().unwrap(), jpeg);
        }
        let inline = all[5].get_content_disposition();
        assert_eq!(inline.disposition, mailparse::DispositionType::Inline);
        let attached = all[6].get_content_disposition();
        assert_eq!(attached.disposition, mailparse::DispositionType::Attachment);
        assert_eq!(
            attached.params.get("filename").map(String::as_str),
            Some("front_door.jpg")
        );
    }

    #[test]
    fn without_a_picture_the_mail_is_text_and_html() {
        let mail = compose(
            &alert(),
            None,
            None,
            &address("a@cams.example.com"),
            &[address("me@home.example")],
        )
        .unwrap();
        let message = parsed(&mail);
        assert_eq!(message.ctype.mimetype, "multipart/alternative");
        assert!(!message.subparts[1].get_body().unwrap().contains("<img"));
    }
}
