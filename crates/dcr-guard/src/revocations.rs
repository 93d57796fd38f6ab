//! The revocation set, fed by `GET /o/revocations`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use dcr_proto::claims::AccessTokenClaims;
use dcr_proto::resource::RevocationFeed;

/// Revoked ids with the time of their revocation, and the channel directory.
#[derive(Debug, Default)]
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
}

impl RevocationSet {
    pub(crate) fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Time since the last successful poll; `None` before the first.
    pub(crate) fn age(&self) -> Option<Duration> {
        self.last_sync.map(|t| t.elapsed())
    }

    pub(crate) fn revokes(&self, claims: &AccessTokenClaims) -> bool {
        self.clients.contains_key(&claims.client_id)
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
        for entry in page.entries {
            let set = match entry.kind.as_str() {
                "client" => &mut self.clients,
                "statement" => &mut self.statements,
                "application" => &mut self.applications,
                "token" => &mut self.tokens,
                _ => continue,
            };
            set.insert(entry.id, entry.revoked_at);
        }
        // Entries before the horizon can no longer matter: every token issued before
        // them has expired. Dropping them bounds memory.
        for set in [
            &mut self.clients,
            &mut self.statements,
            &mut self.applications,
            &mut self.tokens,
        ] {
            set.retain(|_, at| *at >= page.horizon);
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
