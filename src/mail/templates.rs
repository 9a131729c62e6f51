//! The messages to the person, in French and English: a subject with the receipt, a plain-text
//! body and the same text as HTML. They hold no identifier: only the receipt, the kinds of system,
//! dates and reasons; the address they are sent to is the only personal data in the e-mail.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt::Write;

pub use super::lang::Lang;

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Render the message for an outbox event; `None` for an event the person does not hear about.
pub fn render(event_type: &str, payload: &Value, lang: Lang) -> Option<Rendered> {
    let receipt = payload["receipt"].as_str().unwrap_or_default();
    let (title, paragraphs) = match event_type {
        "erasure.completed" => completed(payload, lang),
        "erasure.failed" => failed(payload, lang),
        "erasure.deadline_extended" => extended(payload, lang),
        "erasure.cancelled" => cancelled(payload, lang),
        _ => return None,
    };
    let subject = format!("{title} ({receipt})");
    let closing = match lang {
        Lang::Fr => format!("Votre référence : {receipt}. Indiquez-la si vous nous écrivez au sujet de cette demande."),
        Lang::En => format!("Your reference: {receipt}. Please quote it if you write to us about this request."),
    };
    let signature = match lang {
        Lang::Fr => "L'équipe chargée de la protection des données",
        Lang::En => "The privacy team",
    };
    let mut text = String::new();
    let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
    let _ = writeln!(html, "<h1>{}</h1>", escape(title));
    for paragraph in paragraphs.iter().chain([&Paragraph::Text(closing), &Paragraph::Text(signature.into())]) {
        match paragraph {
            Paragraph::Text(t) => {
                let _ = writeln!(text, "{t}\n");
                let _ = writeln!(html, "<p>{}</p>", escape(t));
            }
            Paragraph::List(items) => {
                html.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(text, "  - {item}");
                    let _ = writeln!(html, "<li>{}</li>", escape(item));
                }
                text.push('\n');
                html.push_str("</ul>\n");
            }
        }
    }
    html.push_str("</body></html>\n");
    Some(Rendered { subject, text: text.trim_end().to_string() + "\n", html })
}

enum Paragraph {
    Text(String),
    List(Vec<String>),
}

fn completed(payload: &Value, lang: Lang) -> (&'static str, Vec<Paragraph>) {
    let systems = payload["systems"].as_array().cloned().unwrap_or_default();
    let kind_of = |system: &Value| -> String {
        systems.iter().find(|s| s["system"] == *system).map_or_else(|| kind_label("other", lang), |s| words(s, lang))
    };
    // Erased: per kind of system, with what the systems counted, key by key in words; what a
    // system counted as left in place is said apart, never as erased.
    let mut counted: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        std::collections::BTreeMap::new();
    for system in systems.iter().filter(|s| s["outcome"] == "erased") {
        let per_key = counted.entry(kind_of(&system["system"])).or_default();
        for (key, n) in system["evidence"]["counts"].as_object().into_iter().flatten() {
            *per_key.entry(key.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
    }
    let separator = if lang == Lang::Fr { " : " } else { ": " };
    let (mut erased, mut left) = (Vec::new(), Vec::new());
    for (kind, counts) in &counted {
        let (done, kept_in_place) = super::counts::phrases(counts, lang);
        erased.push(if done.is_empty() { kind.clone() } else { format!("{kind}{separator}{}", done.join(", ")) });
        left.extend(kept_in_place.into_iter().map(|phrase| format!("{kind}{separator}{phrase}")));
    }
    let mut unverifiable: Vec<String> =
        systems.iter().filter(|s| s["verification"] == "not_verifiable").map(|s| kind_of(&s["system"])).collect();
    unverifiable.sort();
    unverifiable.dedup();
    let checked_again = systems.iter().any(|s| s["verification"] == "scheduled");
    let mut nothing: Vec<String> =
        systems.iter().filter(|s| s["outcome"] == "nothing_to_erase").map(|s| kind_of(&s["system"])).collect();
    nothing.sort();
    nothing.dedup();
    let kept: Vec<String> = payload["kept"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            let reason = k["reason"].as_str().unwrap_or(match lang {
                Lang::Fr => "obligation légale",
                Lang::En => "legal obligation",
            });
            format!("{}{separator}{reason}", kind_of(&k["system"]))
        })
        .collect();
    let copies: Vec<String> = payload["expiring_copies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let name = match lang {
                Lang::Fr => c["name_fr"].as_str().or(c["name"].as_str()),
                Lang::En => c["name"].as_str(),
            };
            let by = date(&c["expires_by"], lang);
            match lang {
                Lang::Fr => format!("{} : au plus tard le {by}", name.unwrap_or("copies")),
                Lang::En => format!("{}: by {by} at the latest", name.unwrap_or("copies")),
            }
        })
        .collect();
    let when = date(&payload["finished_at"], lang);
    let mut paragraphs = vec![Paragraph::Text(match lang {
        Lang::Fr => {
            format!("Bonjour,\n\nVotre demande d'effacement de vos données personnelles a été traitée le {when}.")
        }
        Lang::En => format!("Hello,\n\nYour request to erase your personal data was completed on {when}."),
    })];
    if !erased.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Vos données ont été effacées des systèmes suivants :",
                Lang::En => "Your data was erased from the following kinds of system:",
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(erased.clone()));
    }
    if !nothing.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Nous n'avons trouvé aucune donnée vous concernant dans ces systèmes :",
                Lang::En => "We found no data about you in these kinds of system:",
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(nothing));
    }
    if !left.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Ce que ces systèmes n'ont pas effacé :",
                Lang::En => "What these systems did not erase:",
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(left));
    }
    if !kept.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Certaines données sont conservées, comme la loi nous y oblige ou nous y autorise (RGPD, art. 17(3)) :",
                Lang::En => "Some data is kept, as the law requires or allows (GDPR art. 17(3)):",
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(kept));
    }
    if !copies.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Des copies que nous ne pouvons pas modifier (sauvegardes, archives) contiennent encore vos données ; \
                             elles sont écrasées ou supprimées automatiquement :",
                Lang::En => "Copies we cannot change (backups, archives) still hold your data; they are overwritten or \
                             deleted automatically:",
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(copies));
    }
    if checked_again {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => "Nous vérifierons à nouveau plus tard que vos données n'y sont pas revenues.",
                Lang::En => "We will look again later to check that your data has not come back.",
            }
            .into(),
        ));
    }
    if !unverifiable.is_empty() {
        paragraphs.push(Paragraph::Text(
            match lang {
                Lang::Fr => {
                    "Ces systèmes ne permettent pas de vérifier après coup que vos données ont disparu ; \
                             nous nous fions à leur réponse :"
                }
                Lang::En => {
                    "These systems cannot be checked afterwards to confirm that your data is gone; we rely \
                             on their answer:"
                }
            }
            .into(),
        ));
        paragraphs.push(Paragraph::List(unverifiable));
    }
    let title = match (lang, erased.is_empty()) {
        (Lang::Fr, false) => "Vos données ont été effacées",
        (Lang::En, false) => "Your data has been erased",
        (Lang::Fr, true) => "Votre demande d'effacement a été traitée",
        (Lang::En, true) => "Your erasure request is complete",
    };
    (title, paragraphs)
}

fn failed(payload: &Value, lang: Lang) -> (&'static str, Vec<Paragraph>) {
    let deadline = date(&payload["deadline_at"], lang);
    let (title, body) = match lang {
        Lang::Fr => (
            "Votre demande d'effacement est en cours de traitement",
            format!(
                "Bonjour,\n\nL'effacement de vos données n'a pas encore pu être mené à son terme dans tous nos systèmes. \
                 Notre équipe s'en occupe et vous écrira dès qu'il sera terminé, au plus tard le {deadline}. \
                 Vous n'avez rien à faire."
            ),
        ),
        Lang::En => (
            "Your erasure request is still being handled",
            format!(
                "Hello,\n\nWe could not yet finish erasing your data from all of our systems. \
                 Our team is working on it and will write to you when it is done, by {deadline} at the latest. \
                 You do not need to do anything."
            ),
        ),
    };
    (title, vec![Paragraph::Text(body)])
}

fn extended(payload: &Value, lang: Lang) -> (&'static str, Vec<Paragraph>) {
    let deadline = date(&payload["deadline_at"], lang);
    let reason = payload["extension_reason"].as_str().unwrap_or_default();
    let (title, body, why) = match lang {
        Lang::Fr => (
            "Le délai de traitement de votre demande est prolongé",
            format!(
                "Bonjour,\n\nComme le permet l'article 12(3) du RGPD, nous prolongeons le délai de traitement de votre \
                 demande d'effacement. Elle sera traitée au plus tard le {deadline}."
            ),
            format!("Motif : {reason}"),
        ),
        Lang::En => (
            "We need more time for your erasure request",
            format!(
                "Hello,\n\nAs GDPR article 12(3) allows, we are extending the time we need to handle your erasure \
                 request. It will be completed by {deadline} at the latest."
            ),
            format!("Reason: {reason}"),
        ),
    };
    (title, vec![Paragraph::Text(body), Paragraph::Text(why)])
}

fn cancelled(payload: &Value, lang: Lang) -> (&'static str, Vec<Paragraph>) {
    let when = date(&payload["finished_at"], lang);
    let (title, body) = match lang {
        Lang::Fr => (
            "Votre demande d'effacement a été annulée",
            format!(
                "Bonjour,\n\nVotre demande d'effacement a été annulée le {when}, à votre demande ou à celle du service \
                 concerné. Vos données n'ont pas été effacées par cette demande. Vous pouvez en faire une nouvelle à tout moment."
            ),
        ),
        Lang::En => (
            "Your erasure request was cancelled",
            format!(
                "Hello,\n\nYour erasure request was cancelled on {when}, at your request or the service's. \
                 This request did not erase your data. You can make a new one at any time."
            ),
        ),
    };
    (title, vec![Paragraph::Text(body)])
}

/// A system of the event in words the person understands: its `label` (the instance's or its
/// definition's), else its kind's; never the instance name.
fn words(system: &Value, lang: Lang) -> String {
    let language = match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    };
    match system["label"][language].as_str() {
        Some(label) => label.to_string(),
        None => kind_label(system["kind"].as_str().unwrap_or("other"), lang),
    }
}

/// The kind of system in words the person understands; never the instance name.
fn kind_label(kind: &str, lang: Lang) -> String {
    let (fr, en) = match kind {
        "zendesk" => ("Support client (tickets)", "Customer support (tickets)"),
        "intercom" => ("Messagerie client", "Customer messaging"),
        "twilio" => ("SMS et appels", "Text messages and calls"),
        "elasticsearch" => ("Index de recherche", "Search index"),
        "loki" => ("Journaux techniques", "Technical logs"),
        "sql" => ("Base de données", "Database"),
        "webhook" => ("Service interne", "Internal service"),
        _ => ("Autre système", "Other system"),
    };
    match lang {
        Lang::Fr => fr.into(),
        Lang::En => en.into(),
    }
}

fn date(value: &Value, lang: Lang) -> String {
    let Some(at) = value.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()) else {
        return "—".into();
    };
    match lang {
        Lang::Fr => at.format("%d/%m/%Y").to_string(),
        Lang::En => at.format("%-d %B %Y").to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn completed_lists_kinds_and_kept_data_in_french() {
        let payload = json!({
            "receipt": "ER-AAAA-BBBB-CCCC",
            "finished_at": "2026-11-25T10:00:00Z",
            "systems": [
                { "system": "helpdesk", "kind": "zendesk", "outcome": "erased" },
                { "system": "billing", "kind": "sql", "outcome": "exempt", "reason": "Code de commerce L123-22" },
            ],
            "kept": [{ "system": "billing", "reason": "Code de commerce L123-22" }],
        });
        let m = render("erasure.completed", &payload, Lang::Fr).unwrap();
        assert_eq!(m.subject, "Vos données ont été effacées (ER-AAAA-BBBB-CCCC)");
        assert!(m.text.contains("Support client (tickets)") && m.text.contains("25/11/2026"), "{}", m.text);
        assert!(m.text.contains("Base de données : Code de commerce L123-22"), "{}", m.text);
        assert!(!m.text.contains("helpdesk") && !m.text.contains("billing"));
        assert!(m.html.contains("<li>Support client (tickets)</li>"));
    }

    /// A declarative system is named by its label, in the person's language, wherever the
    /// message names it (erased, nothing found, kept); a system without one by its kind.
    #[test]
    fn a_labelled_system_is_named_by_its_label_in_both_languages() {
        let crm = json!({ "en": "CRM", "fr": "Gestion de la relation client" });
        let mail = json!({ "en": "E-mail marketing", "fr": "E-mails marketing" });
        let payload = json!({
            "receipt": "ER-AAAA-BBBB-CCCC", "finished_at": "2026-12-01T10:00:00Z",
            "systems": [
                { "system": "crm", "kind": "http", "label": crm, "outcome": "erased",
                  "evidence": { "counts": { "contacts": 1 } } },
                { "system": "newsletter", "kind": "http", "label": mail, "outcome": "nothing_to_erase" },
                { "system": "archive", "kind": "http", "outcome": "exempt", "reason": "Code de commerce L123-22" },
                { "system": "helpdesk", "kind": "zendesk", "outcome": "nothing_to_erase" },
            ],
            "kept": [{ "system": "archive", "reason": "Code de commerce L123-22" }],
        });
        let en = render("erasure.completed", &payload, Lang::En).unwrap();
        assert!(en.text.contains("kinds of system:\n\n  - CRM: 1 contact deleted\n"), "{}", en.text);
        assert!(
            en.text.contains("We found no data about you in these kinds of system:\n\n  - Customer support (tickets)\n  - E-mail marketing\n"),
            "{}",
            en.text
        );
        assert!(en.text.contains("  - Other system: Code de commerce L123-22"), "no label, no kind word: {}", en.text);
        assert!(en.html.contains("<li>CRM: 1 contact deleted</li>"), "{}", en.html);
        let fr = render("erasure.completed", &payload, Lang::Fr).unwrap();
        assert!(fr.text.contains("  - Gestion de la relation client : 1 contact supprimé\n"), "{}", fr.text);
        assert!(fr.text.contains("  - E-mails marketing\n"), "{}", fr.text);
        assert!(!fr.text.contains("CRM") && !fr.text.contains("crm") && !fr.text.contains("newsletter"), "{}", fr.text);
    }

    #[test]
    fn the_locale_chooses_the_language() {
        assert_eq!(Lang::from_locale(Some("fr-FR")), Lang::Fr);
        assert_eq!(Lang::from_locale(Some("en")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
        assert!(render("erasure.rejected", &json!({}), Lang::En).is_none());
    }

    /// The case: one system erased (with its counts), one where nothing was found, and
    /// declared backups: the message says each truthfully, in both languages, and never says a
    /// system where nothing was found was erased.
    #[test]
    fn nothing_found_and_expiring_backups_are_said_as_they_are() {
        let payload = json!({
            "receipt": "ER-AAAA-BBBB-CCCC",
            "finished_at": "2026-12-01T10:00:00Z",
            "systems": [
                { "system": "helpdesk", "kind": "zendesk", "outcome": "erased",
                  "evidence": { "counts": { "tickets_deleted": 3, "users_deleted": 1 } } },
                { "system": "logs", "kind": "loki", "outcome": "nothing_to_erase", "evidence": {} },
            ],
            "kept": [],
            "expiring_copies": [{ "name": "nightly backups", "name_fr": "sauvegardes nocturnes",
                                  "expires_by": "2027-01-05T10:00:00Z" }],
        });
        let en = render("erasure.completed", &payload, Lang::En).unwrap();
        let erased_part = en.text.split("We found no data").next().unwrap();
        assert!(
            erased_part.contains("Customer support (tickets): 3 tickets deleted, 1 user account deleted"),
            "{}",
            en.text
        );
        assert!(!erased_part.contains("Technical logs"), "nothing found is not erased: {}", en.text);
        assert!(
            en.text.contains("We found no data about you in these kinds of system:\n\n  - Technical logs"),
            "{}",
            en.text
        );
        assert!(en.text.contains("nightly backups: by 5 January 2027 at the latest"), "{}", en.text);
        let fr = render("erasure.completed", &payload, Lang::Fr).unwrap();
        assert!(
            fr.text.contains("Support client (tickets) : 3 tickets supprimés, 1 compte utilisateur supprimé"),
            "{}",
            fr.text
        );
        assert!(
            fr.text.contains(
                "Nous n'avons trouvé aucune donnée vous concernant dans ces systèmes :\n\n  - Journaux techniques"
            ),
            "{}",
            fr.text
        );
        assert!(fr.text.contains("sauvegardes nocturnes : au plus tard le 05/01/2027"), "{}", fr.text);
        assert!(fr.html.contains("<li>sauvegardes nocturnes : au plus tard le 05/01/2027</li>"));
    }

    /// A request where no system held anything is not told its data "has been erased".
    #[test]
    fn nothing_found_anywhere_is_not_called_erased() {
        let payload = json!({
            "receipt": "ER-AAAA-BBBB-CCCC", "finished_at": "2026-12-01T10:00:00Z",
            "systems": [{ "system": "logs", "kind": "loki", "outcome": "nothing_to_erase" }], "kept": [],
        });
        let en = render("erasure.completed", &payload, Lang::En).unwrap();
        assert_eq!(en.subject, "Your erasure request is complete (ER-AAAA-BBBB-CCCC)");
        assert!(!en.text.contains("was erased from"), "{}", en.text);
        let fr = render("erasure.completed", &payload, Lang::Fr).unwrap();
        assert_eq!(fr.subject, "Votre demande d'effacement a été traitée (ER-AAAA-BBBB-CCCC)");
    }

    /// What a system left in place is said apart from what it erased, and a system that cannot be
    /// looked up afterwards is named as such, in both languages.
    #[test]
    fn what_was_left_and_what_cannot_be_verified_are_said_apart() {
        let payload = json!({
            "receipt": "ER-AAAA-BBBB-CCCC", "finished_at": "2026-12-01T10:00:00Z",
            "systems": [
                { "system": "helpdesk", "kind": "zendesk", "outcome": "erased", "verification": "scheduled",
                  "evidence": { "counts": { "comments_redacted": 2, "closed_tickets_left": 1 } } },
                { "system": "accounts", "kind": "webhook", "outcome": "erased", "verification": "not_verifiable",
                  "evidence": { "counts": { "records": 1 } } },
            ],
            "kept": [],
        });
        let en = render("erasure.completed", &payload, Lang::En).unwrap();
        let (erased, rest) = en.text.split_once("What these systems did not erase:").expect("a left section");
        assert!(erased.contains("Customer support (tickets): 2 comments redacted\n"), "{}", en.text);
        assert!(rest.contains("Customer support (tickets): 1 closed ticket of another person"), "{}", en.text);
        assert!(en.text.contains("We will look again later"), "{}", en.text);
        assert!(
            en.text.contains("we rely on their answer:\n\n  - Internal service\n"),
            "the webhook without lookup is named: {}",
            en.text
        );
        let fr = render("erasure.completed", &payload, Lang::Fr).unwrap();
        assert!(fr.text.contains("Ce que ces systèmes n'ont pas effacé :"), "{}", fr.text);
        assert!(fr.text.contains("nous nous fions à leur réponse :\n\n  - Service interne"), "{}", fr.text);
    }
}
