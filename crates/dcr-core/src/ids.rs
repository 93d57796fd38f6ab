//! Identifiers. Each constructor is the only validation: a value of these types is
//! well-formed by construction.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub String);

/// Every id type, parsed from text where it enters (a path segment, a form field):
/// past that point, code holds the typed id and never parses it again.
pub trait ParseId: Sized {
    fn parse_id(s: &str) -> Result<Self, InvalidId>;
}

fn is_short_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

macro_rules! short_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: impl Into<String>) -> Result<Self, InvalidId> {
                let s = s.into();
                if is_short_id(&s) {
                    Ok(Self(s))
                } else {
                    Err(InvalidId(format!(
                        concat!($what, " ids are 1 to 64 characters of [A-Za-z0-9_-], got {:?}"),
                        s.chars().take(80).collect::<String>()
                    )))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl ParseId for $name {
            fn parse_id(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

short_id!(
    /// A programmer (tenant) id, chosen at creation.
    ProgrammerId,
    "programmer"
);
short_id!(
    /// A channel (service provider, requestor id), unique across the deployment.
    ChannelId,
    "channel"
);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                // Only the canonical hyphenated form: one spelling per id keeps lookups and
                // revocation sets exact.
                if s.len() != 36 {
                    return Err(InvalidId(format!(concat!(stringify!($name), " must be a UUID"))));
                }
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| InvalidId(format!(concat!(stringify!($name), " must be a UUID"))))
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }
        impl ParseId for $name {
            fn parse_id(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A registered application.
    ApplicationId
);
uuid_id!(
    /// An installed app instance's client id.
    ClientId
);

impl ClientId {
    /// The id of a new registration: a UUIDv7, whose leading 48 bits are the time in
    /// milliseconds and the rest random. Clients are the table that grows to tens of
    /// millions of rows, and the store keeps a unique index on the id: a random id
    /// lands on a random page of that index (one page read and written per
    /// registration, rarely cached), a time-ordered one at its end, where every
    /// registration of a group commit shares one page. A client id names a client; it
    /// is not a credential, so the time it shows costs nothing.
    pub fn new_time_ordered() -> Self {
        Self(Uuid::now_v7())
    }
}
uuid_id!(
    /// The `jti` of a software statement.
    StatementId
);
uuid_id!(
    /// The `jti` of an access token.
    TokenId
);
uuid_id!(
    /// An admin API key's public id.
    ApiKeyId
);
uuid_id!(
    /// A dashboard user.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_accept_the_documented_alphabet() {
        assert!(ProgrammerId::parse("acme").is_ok());
        assert!(ChannelId::parse("ACME_TV-2").is_ok());
        assert!(ChannelId::parse("a".repeat(64)).is_ok());
    }

    #[test]
    fn short_ids_refuse_everything_else() {
        for bad in ["", "a b", "a/b", "é", "a.b", "x'--", &"a".repeat(65)] {
            assert!(ProgrammerId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn uuid_ids_only_take_the_hyphenated_form() {
        let id = ClientId::new_random();
        assert_eq!(ClientId::parse(&id.to_string()), Ok(id));
        assert!(ClientId::parse(&id.as_uuid().simple().to_string()).is_err());
        assert!(ClientId::parse("not-a-uuid").is_err());
        assert!(ClientId::parse(&format!("{{{id}}}")).is_err());
    }

    #[test]
    fn new_client_ids_sort_by_creation_and_stay_distinct() {
        let ids: Vec<ClientId> = (0..1_000).map(|_| ClientId::new_time_ordered()).collect();
        assert!(ids.iter().all(|id| id.as_uuid().get_version_num() == 7));
        // Sorted text is sorted index order: each new id lands at the end.
        let text: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert!(text.windows(2).all(|w| w[0] < w[1]), "ids out of order");
        assert_eq!(ClientId::parse(&text[0]), Ok(ids[0]));
    }
}
