//! Who is calling the admin API, and what each role may see and change: the one
//! place the tenant-isolation rules are written (the admin operations ask these
//! questions; a resource the caller may not see is reported as not found).

use crate::ids::{ApiKeyId, ChannelId, ProgrammerId, UserId};
use crate::model::{AppLevel, Application, Role};

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
    pub role: Role,
    pub programmer: Option<ProgrammerId>,
    pub channel: Option<ChannelId>,
    /// The caller's address as the HTTP layer resolved it, for the audit log.
    pub source_ip: Option<String>,
}

/// The credential behind a [`Principal`]: what the audit log names as the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(ApiKeyId),
    User {
        id: UserId,
        email: String,
    },
    /// The process itself (demo seeding, command-line maintenance).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey(id) => write!(f, "api-key:{id}"),
            Self::User { email, .. } => write!(f, "user:{email}"),
            Self::System => f.write_str("system"),
        }
    }
}

impl Principal {
    /// The deployment itself, with operator rights.
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            role: Role::Operator,
            programmer: None,
            channel: None,
            source_ip: None,
        }
    }

    pub fn from_source(mut self, ip: impl ToString) -> Self {
        self.source_ip = Some(ip.to_string());
        self
    }

    pub(crate) fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    /// `Forbidden` unless an operator asks: for routes whose body need not be read
    /// when the caller may not use them.
    pub fn require_operator(&self) -> Result<(), crate::error::AdminError> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(crate::error::AdminError::Forbidden)
        }
    }

    /// Whether the audit log is open to this caller (within its programmer). Channel
    /// admins and resource servers may not read it: a programmer's log names the
    /// resources of all its channels.
    pub fn may_read_audit(&self) -> bool {
        matches!(self.role, Role::Operator | Role::ProgrammerAdmin)
    }

    pub(crate) fn can_see_programmer(&self, pid: &ProgrammerId) -> bool {
        match self.role {
            Role::Operator => true,
            Role::ProgrammerAdmin | Role::ChannelAdmin => self.programmer.as_ref() == Some(pid),
            Role::ResourceServer => false,
        }
    }

    pub(crate) fn can_manage_programmer(&self, pid: &ProgrammerId) -> bool {
        match self.role {
            Role::Operator => true,
            Role::ProgrammerAdmin => self.programmer.as_ref() == Some(pid),
            Role::ChannelAdmin | Role::ResourceServer => false,
        }
    }

    pub(crate) fn can_see_application(&self, app: &Application) -> bool {
        match self.role {
            Role::Operator => true,
            Role::ProgrammerAdmin => self.programmer.as_ref() == Some(&app.programmer_id),
            Role::ChannelAdmin => {
                self.programmer.as_ref() == Some(&app.programmer_id)
                    && app.level == AppLevel::Channel
                    && self
                        .channel
                        .as_ref()
                        .is_some_and(|c| app.channels == [c.clone()])
            }
            Role::ResourceServer => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApplicationPolicy, Status};

    fn principal(role: Role, programmer: Option<&str>, channel: Option<&str>) -> Principal {
        Principal {
            actor: Actor::System,
            role,
            programmer: programmer.map(|p| ProgrammerId::parse(p).unwrap()),
            channel: channel.map(|c| ChannelId::parse(c).unwrap()),
            source_ip: None,
        }
    }

    fn application(programmer: &str, channel: Option<&str>) -> Application {
        Application {
            id: crate::ids::ApplicationId::new_random(),
            programmer_id: ProgrammerId::parse(programmer).unwrap(),
            name: "app".into(),
            version: "1.0.0".into(),
            level: if channel.is_some() {
                AppLevel::Channel
            } else {
                AppLevel::Programmer
            },
            channels: channel
                .map(|c| vec![ChannelId::parse(c).unwrap()])
                .unwrap_or_default(),
            platforms: vec!["ios".into()],
            scopes: vec!["api:client:v2".into()],
            domains: vec![],
            custom_scheme: "com.acme.app".into(),
            audiences: vec![],
            policy: ApplicationPolicy::default(),
            settings: Default::default(),
            status: Status::Active,
            created_at: 0,
            revoked_at: None,
            revoked_by: None,
        }
    }

    /// Every role against every kind of resource, own and foreign: the table is the
    /// specification of tenant isolation.
    #[test]
    fn each_role_sees_and_manages_exactly_its_own() {
        let acme = ProgrammerId::parse("acme").unwrap();
        let other = ProgrammerId::parse("other").unwrap();
        let acme_app = application("acme", None);
        let acme_tv_app = application("acme", Some("ACMETV"));
        let acme_radio_app = application("acme", Some("RADIO"));
        let other_app = application("other", None);
        // role, programmer, channel:
        //   see acme, see other, manage acme, manage other,
        //   see acme app, see acme TV app, see acme radio app, see other app, read audit
        let table = [
            (
                Role::Operator,
                None,
                None,
                [true, true, true, true, true, true, true, true, true],
            ),
            (
                Role::ProgrammerAdmin,
                Some("acme"),
                None,
                [true, false, true, false, true, true, true, false, true],
            ),
            (
                Role::ChannelAdmin,
                Some("acme"),
                Some("ACMETV"),
                [true, false, false, false, false, true, false, false, false],
            ),
            (
                Role::ResourceServer,
                Some("acme"),
                None,
                [
                    false, false, false, false, false, false, false, false, false,
                ],
            ),
        ];
        for (role, programmer, channel, expected) in table {
            let who = principal(role, programmer, channel);
            let got = [
                who.can_see_programmer(&acme),
                who.can_see_programmer(&other),
                who.can_manage_programmer(&acme),
                who.can_manage_programmer(&other),
                who.can_see_application(&acme_app),
                who.can_see_application(&acme_tv_app),
                who.can_see_application(&acme_radio_app),
                who.can_see_application(&other_app),
                who.may_read_audit(),
            ];
            assert_eq!(got, expected, "{role:?}");
        }
    }
}
