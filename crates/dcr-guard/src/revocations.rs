//! The revocation set, fed by `GET /o/revocations`.

use std::collections::HashMap;
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
    channels: HashMap<String, String>,
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

    pub(crate) fn channel_owner(&self, channel: &str) -> Option<&str> {
        self.channels.get(channel).map(String::as_str)
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
        self.channels = page.channels.into_iter().collect();
        self.programmer = page.programmer;
        if let Ok(cursor) = page.cursor.parse::<i64>() {
            self.cursor = self.cursor.max(cursor);
        }
        self.last_sync = Some(Instant::now());
    }
}
