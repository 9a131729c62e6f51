//! The evidence's count keys in words the person reads, in both languages, and whether each
//! counts what was erased, what was left, or an internal detail the person is not told. A count
//! is never summed across meanings: "3 records erased" must not include tickets left in place.

use super::lang::Lang;
use std::collections::BTreeMap;

/// What one count key means for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// Erased (deleted or redacted), in words: English one/many, French one/many.
    Erased(Words),
    /// Not erased, said so: the same four forms.
    Left(Words),
    /// A detail for operators (a retry's conflicts, a per-statement split): not in the e-mail.
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    en_one: &'static str,
    en_many: &'static str,
    fr_one: &'static str,
    fr_many: &'static str,
}

const fn words(en_one: &'static str, en_many: &'static str, fr_one: &'static str, fr_many: &'static str) -> Words {
    Words { en_one, en_many, fr_one, fr_many }
}

/// Any count key a connector does not document here (a webhook service's own keys): erased
/// records, without naming what they are.
const RECORDS: Words = words("record erased", "records erased", "élément effacé", "éléments effacés");

/// Every count key the connectors of this repository write (see each connector's README).
pub fn meaning(key: &str) -> Meaning {
    use Meaning::*;
    match key {
        // Zendesk
        "users_deleted" => Erased(words(
            "user account deleted",
            "user accounts deleted",
            "compte utilisateur supprimé",
            "comptes utilisateur supprimés",
        )),
        "tickets_deleted" => Erased(words("ticket deleted", "tickets deleted", "ticket supprimé", "tickets supprimés")),
        "tickets_redacted" => Erased(words(
            "ticket with your messages redacted",
            "tickets with your messages redacted",
            "ticket dont vos messages ont été caviardés",
            "tickets dont vos messages ont été caviardés",
        )),
        "comments_redacted" => {
            Erased(words("comment redacted", "comments redacted", "commentaire caviardé", "commentaires caviardés"))
        }
        "cc_removals" => Erased(words(
            "copy (CC) on another person's ticket removed",
            "copies (CC) on other people's tickets removed",
            "copie (CC) sur le ticket d'une autre personne retirée",
            "copies (CC) sur les tickets d'autres personnes retirées",
        )),
        "call_recordings_deleted" | "recordings" => Erased(words(
            "call recording deleted",
            "call recordings deleted",
            "enregistrement d'appel supprimé",
            "enregistrements d'appel supprimés",
        )),
        "help_center_comments_deleted" => Erased(words(
            "help centre comment deleted",
            "help centre comments deleted",
            "commentaire du centre d'aide supprimé",
            "commentaires du centre d'aide supprimés",
        )),
        "community_posts_deleted" => Erased(words(
            "community post deleted",
            "community posts deleted",
            "publication de la communauté supprimée",
            "publications de la communauté supprimées",
        )),
        "community_comments_deleted" => Erased(words(
            "community comment deleted",
            "community comments deleted",
            "commentaire de la communauté supprimé",
            "commentaires de la communauté supprimés",
        )),
        "closed_tickets_left" => Left(words(
            "closed ticket of another person still lists you in copy (CC); your comments on it were redacted",
            "closed tickets of other people still list you in copy (CC); your comments on them were redacted",
            "ticket clos d'une autre personne vous garde en copie (CC) ; vos commentaires y ont été caviardés",
            "tickets clos d'autres personnes vous gardent en copie (CC) ; vos commentaires y ont été caviardés",
        )),
        // Intercom
        "contacts" => Erased(words("contact deleted", "contacts deleted", "contact supprimé", "contacts supprimés")),
        "conversation_parts" => Erased(words(
            "conversation message redacted",
            "conversation messages redacted",
            "message de conversation caviardé",
            "messages de conversation caviardés",
        )),
        "conversation_parts_not_redactable" => Left(words(
            "conversation message the system refused to redact",
            "conversation messages the system refused to redact",
            "message de conversation que le système a refusé de caviarder",
            "messages de conversation que le système a refusé de caviarder",
        )),
        // Twilio
        "calls" => Erased(words("call record deleted", "call records deleted", "appel supprimé", "appels supprimés")),
        "transcriptions" => Erased(words(
            "transcription deleted",
            "transcriptions deleted",
            "transcription supprimée",
            "transcriptions supprimées",
        )),
        "messages_redacted" => {
            Erased(words("text message redacted", "text messages redacted", "SMS caviardé", "SMS caviardés"))
        }
        "messages_deleted" => {
            Erased(words("text message deleted", "text messages deleted", "SMS supprimé", "SMS supprimés"))
        }
        "message_media" => Erased(words(
            "message attachment deleted",
            "message attachments deleted",
            "pièce jointe de message supprimée",
            "pièces jointes de message supprimées",
        )),
        // Elasticsearch, Loki, SQL
        "documents" => {
            Erased(words("document deleted", "documents deleted", "document supprimé", "documents supprimés"))
        }
        "log_lines" => Erased(words(
            "log line deleted",
            "log lines deleted",
            "ligne de journal supprimée",
            "lignes de journal supprimées",
        )),
        "rows" => Erased(words("row erased", "rows erased", "ligne effacée", "lignes effacées")),
        "version_conflicts" => Internal,
        key if key.starts_with("statement_") && key.ends_with("_rows") => Internal,
        _ => Erased(RECORDS),
    }
}

impl Words {
    /// "3 tickets deleted", "1 ticket supprimé".
    pub fn with(&self, n: u64, lang: Lang) -> String {
        let w = match (lang, n) {
            (Lang::En, 1) => self.en_one,
            (Lang::En, _) => self.en_many,
            (Lang::Fr, 1) => self.fr_one,
            (Lang::Fr, _) => self.fr_many,
        };
        format!("{n} {w}")
    }
}

/// The erased and the left counts of some systems' evidence, summed per key (keys of unknown
/// meaning summed together as records), in the table's order; zero counts are left out.
pub fn phrases(counts: &BTreeMap<String, u64>, lang: Lang) -> (Vec<String>, Vec<String>) {
    let mut erased: Vec<(Words, u64)> = Vec::new();
    let mut left: Vec<(Words, u64)> = Vec::new();
    for (key, n) in counts.iter().filter(|(_, n)| **n > 0) {
        let (list, words) = match meaning(key) {
            Meaning::Erased(w) => (&mut erased, w),
            Meaning::Left(w) => (&mut left, w),
            Meaning::Internal => continue,
        };
        match list.iter_mut().find(|(w, _)| *w == words) {
            Some((_, total)) => *total += n,
            None => list.push((words, *n)),
        }
    }
    let say = |list: Vec<(Words, u64)>| list.into_iter().map(|(w, n)| w.with(n, lang)).collect();
    (say(erased), say(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn left_and_internal_counts_are_never_counted_as_erased() {
        let c = counts(&[
            ("tickets_deleted", 2),
            ("closed_tickets_left", 1),
            ("version_conflicts", 4),
            ("statement_1_rows", 9),
            ("rows", 9),
        ]);
        let (erased, left) = phrases(&c, Lang::En);
        assert_eq!(erased, vec!["9 rows erased", "2 tickets deleted"]);
        assert_eq!(
            left,
            vec!["1 closed ticket of another person still lists you in copy (CC); your comments on it were redacted"]
        );
    }

    #[test]
    fn every_key_reads_in_french_with_its_plural() {
        let (erased, _) = phrases(&counts(&[("users_deleted", 1), ("comments_redacted", 5)]), Lang::Fr);
        assert_eq!(erased, vec!["5 commentaires caviardés", "1 compte utilisateur supprimé"]);
    }

    #[test]
    fn a_services_own_keys_are_records_summed_together() {
        let (erased, left) = phrases(&counts(&[("orders", 2), ("records", 1), ("invoices", 0)]), Lang::En);
        assert_eq!(erased, vec!["3 records erased"]);
        assert!(left.is_empty());
    }
}
