//! The revocation set, fed by `GET /o/revocations`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use dcr_proto::claims::AccessTokenClaims;
use dcr_proto::resource::RevocationFeed;

/// Revoked ids with the time of their revocation, and the channel directory.
///
/// At most `capacity` revocations are kept. One that arrives when the set is full is
/// not kept; instead every token issued at or before it is refused as possibly
/// revoked (`dropped_until`), until it has expired. A token is issued before its
/// revocation, so nothing revoked ever passes, and memory stays bounded whatever the
/// feed carries (a bulk revocation of millions of clients, RFC 7009 revocations from
/// many addresses).
#[derive(Debug)]
pub(crate) struct RevocationSet {
    clients: HashMap<String, i64>,
    statements: HashMap<String, i64>,
    applications: HashMap<String, i64>,
    /// Access tokens revoked one by one (RFC 7009), by `jti`.
    tokens: HashMap<String, i64>,
    /// (programmer, channel) pairs: the channels a programmer-wide token covers.
    channels: HashSet<(String, String)>,
    /// The programmer the guard's key is limited to, as the feed says.
    programmer: Option<String>,
    cursor: i64,
    last_sync: Option<Instant>,
    capacity: usize,
    /// Time of the newest revocation not kept (0: none).
    dropped_until: i64,
}

impl RevocationSet {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            clients: HashMap::new(),
            statements: HashMap::new(),
            applications: HashMap::new(),
            tokens: HashMap::new(),
            channels: HashSet::new(),
            programmer: None,
            cursor: 0,
            last_sync: None,
            capacity: capacity.max(1),
            dropped_until: 0,
        }
    }

    fn len(&self) -> usize {
        self.clients.len() + self.statements.len() + self.applications.len() + self.tokens.len()
    }

    pub(crate) fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Time since the last successful poll; `None` before the first.
    pub(crate) fn age(&self) -> Option<Duration> {
        self.last_sync.map(|t| t.elapsed())
    }

    pub(crate) fn revokes(&self, claims: &AccessTokenClaims) -> bool {
        claims.iat <= self.dropped_until
            || self.clients.contains_key(&claims.client_id)
            || self.statements.contains_key(&claims.sst)
            || self.applications.contains_key(&claims.software_id)
            || self.tokens.contains_key(&claims.jti)
    }

    /// The programmer this guard's key is limited to: tokens of any other programmer
    /// must be refused, since their revocations never reach this feed.
    pub(crate) fn programmer(&self) -> Option<&str> {
        self.programmer.as_deref()
    }

    /// Whether `channel` is one of `programmer`'s.
    pub(crate) fn programmer_has_channel(&self, programmer: &str, channel: &str) -> bool {
        self.channels
            .contains(&(programmer.to_owned(), channel.to_owned()))
    }

    pub(crate) fn apply(&mut self, page: RevocationFeed) {
        // Entries before the horizon can no longer matter: every token issued before
        // them has expired. Dropping them first bounds memory and makes room.
        for set in [
            &mut self.clients,
            &mut self.statements,
            &mut self.applications,
            &mut self.tokens,
        ] {
            set.retain(|_, at| *at >= page.horizon);
        }
        if self.dropped_until < page.horizon {
            self.dropped_until = 0;
        }
        for entry in page.entries {
            if self.len() >= self.capacity {
                self.dropped_until = self.dropped_until.max(entry.revoked_at);
                continue;
            }
            let set = match entry.kind.as_str() {
                "client" => &mut self.clients,
                "statement" => &mut self.statements,
                "application" => &mut self.applications,
                "token" => &mut self.tokens,
                _ => continue,
            };
            set.insert(entry.id, entry.revoked_at);
        }
        // `programmer_channels` is complete; `channels` (from servers before it) names
        // one owner per id, which is all there was then.
        self.channels = if page.programmer_channels.is_empty() {
            page.channels.into_iter().map(|(c, p)| (p, c)).collect()
        } else {
            page.programmer_channels
                .into_iter()
                .flat_map(|(p, channels)| channels.into_iter().map(move |c| (p.clone(), c)))
                .collect()
        };
        self.programmer = page.programmer;
        if let Ok(cursor) = page.cursor.parse::<i64>() {
            self.cursor = self.cursor.max(cursor);
        }
        self.last_sync = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcr_proto::resource::RevocationEntry;

    fn feed(horizon: i64, entries: &[(&str, &str, i64)]) -> RevocationFeed {
        RevocationFeed {
            cursor: "1".into(),
            has_more: false,
            horizon,
            revoked_clients: vec![],
            revoked_statements: vec![],
            revoked_applications: vec![],
            revoked_tokens: vec![],
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, (kind, id, at))| RevocationEntry {
                    seq: i as i64 + 1,
                    kind: (*kind).into(),
                    id: (*id).into(),
                    programmer: "acme".into(),
                    revoked_at: *at,
                })
                .collect(),
            channels: Default::default(),
            programmer_channels: Default::default(),
            programmer: None,
        }
    }

    fn claims(client: &str, iat: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: None,
            iss: "i".into(),
            sub: client.into(),
            aud: dcr_proto::claims::Audience(vec!["a".into()]),
            client_id: client.into(),
            jti: format!("jti-{client}-{iat}"),
            iat,
            nbf: iat,
            exp: iat + 100,
            scopes: String::new(),
            scope: String::new(),
            software_id: "s".into(),
            sst: "j".into(),
            programmer: "acme".into(),
            channels: None,
        }
    }

    #[test]
    fn past_its_capacity_older_tokens_are_refused_and_nothing_revoked_passes() {
        let mut set = RevocationSet::new(2);
        set.apply(feed(
            0,
            &[
                ("client", "a", 10),
                ("client", "b", 20),
                ("client", "c", 30),
            ],
        ));
        assert_eq!(set.len(), 2);
        // c was not kept: its tokens (issued before 30) are refused, and so is any
        // other token that old; a token issued later passes.
        assert!(set.revokes(&claims("c", 25)));
        assert!(set.revokes(&claims("x", 30)));
        assert!(!set.revokes(&claims("x", 31)));
        assert!(set.revokes(&claims("a", 31)));
        // Once what was dropped has expired, the rule goes away.
        set.apply(feed(31, &[]));
        assert!(!set.revokes(&claims("x", 5)));
        assert_eq!(set.len(), 0);
    }
}
