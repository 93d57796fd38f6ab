//! Clients at internet scale: leaked statements (retire, rotate), registration quotas,
//! bulk revocation by filter, inactivity expiry, and activity data with spike
//! detection.

use crate::model::AuditAction;
use std::collections::BTreeMap;

use super::Dcr;
use super::admin::{Principal, audit_event, invalid};
use crate::error::AdminError;
use crate::ids::{ApplicationId, StatementId};
use crate::model::{
    Application, ApplicationPolicy, AuditEvent, ClientFilter, DayCount, StatementRecord, Status,
};
use crate::store::{ScanCursor, StoreError};

/// Clients changed per transaction by a bulk revocation or a sweep: small enough that
/// no transaction holds millions of rows, big enough to amortise the commits.
pub const LIFECYCLE_BATCH: u32 = 5_000;
/// Largest registration quota accepted, per hour.
const MAX_QUOTA: u32 = 100_000_000;
/// Longest inactivity window accepted, in days (ten years).
const MAX_INACTIVE_DAYS: u32 = 3_650;
/// Most days of activity one read returns.
pub const MAX_ACTIVITY_DAYS: u32 = 366;
/// A statement spikes when its registrations in the last hour exceed this many and
/// five times its trailing 7-day hourly mean.
const SPIKE_FLOOR: u64 = 100;
const SPIKE_FACTOR: f64 = 5.0;
/// How long one sweep may hold the lease before another node may take over.
const SWEEP_LEASE_SECONDS: i64 = 600;

/// A new statement issued in place of a retired one.
#[derive(Debug, Clone)]
pub struct RotatedStatement {
    pub retired: StatementRecord,
    pub successor: StatementRecord,
    pub software_statement: String,
}

/// An application's activity as the admin API and the dashboard show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// Every day of the window, oldest first, zero-filled.
    pub daily: Vec<DayCount>,
    pub statements: Vec<StatementActivity>,
    /// Standing clients by platform, OS and model, most first.
    pub by_platform: Vec<(String, u64)>,
    pub by_os: Vec<(String, u64)>,
    pub by_model: Vec<(String, u64)>,
    /// Some statement is spiking now.
    pub spike: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementActivity {
    pub jti: StatementId,
    /// Every day of the window, oldest first, zero-filled.
    pub daily: Vec<DayCount>,
    pub registrations_last_hour: u64,
    /// Mean registrations per hour over the 7 days before the last hour.
    pub hourly_mean_7d: f64,
    pub spike: bool,
}

impl Dcr {
    /// A statement the caller may manage (404 otherwise), with its application.
    async fn managed_statement(
        &self,
        who: &Principal,
        jti: &StatementId,
    ) -> Result<(StatementRecord, Application), AdminError> {
        let statement = self.get_statement(who, jti).await?;
        let app = self.get_application(who, &statement.application_id).await?;
        Ok((statement, app))
    }

    /// Retires a statement: no new registrations (`unapproved_software_statement`,
    /// saying it was retired), while the clients it made keep getting tokens. Retiring a
    /// retired statement changes nothing; a revoked one is 409.
    pub async fn retire_statement(
        &self,
        who: &Principal,
        jti: &StatementId,
    ) -> Result<StatementRecord, AdminError> {
        let (statement, _) = self.managed_statement(who, jti).await?;
        if statement.status == Status::Revoked {
            return Err(AdminError::Conflict(
                "the software statement is revoked; a revoked statement cannot be retired".into(),
            ));
        }
        let audit = self.lifecycle_event(
            who,
            AuditAction::StatementRetired,
            "statement",
            &statement.jti.to_string(),
            &statement,
        );
        let retired = self
            .store
            .retire_statement(&statement.jti, self.clock.now(), &audit)
            .await?
            .ok_or(AdminError::NotFound)?;
        self.forget_standings();
        Ok(retired)
    }

    /// Retires a statement and issues its successor for the same application, in one
    /// transaction: the answer to a leaked statement that does not sign every user out.
    pub async fn rotate_statement(
        &self,
        who: &Principal,
        jti: &StatementId,
    ) -> Result<RotatedStatement, AdminError> {
        let (statement, app) = self.managed_statement(who, jti).await?;
        if statement.status == Status::Revoked {
            return Err(AdminError::Conflict(
                "the software statement is revoked; issue a new statement instead".into(),
            ));
        }
        if app.status != Status::Active {
            return Err(AdminError::Conflict(
                "the application has been revoked".into(),
            ));
        }
        let (successor, software_statement) = self.signed_statement(&app)?;
        let audit = self.lifecycle_event(
            who,
            AuditAction::StatementRotated,
            "statement",
            &statement.jti.to_string(),
            &statement,
        );
        let retired = self
            .store
            .rotate_statement(&statement.jti, &successor, self.clock.now(), &audit)
            .await?
            .ok_or(AdminError::NotFound)?;
        self.forget_standings();
        Ok(RotatedStatement {
            retired,
            successor,
            software_statement,
        })
    }

    fn lifecycle_event(
        &self,
        who: &Principal,
        action: AuditAction,
        kind: &str,
        target: &str,
        statement: &StatementRecord,
    ) -> AuditEvent {
        let mut event = audit_event(who, action, kind, target, Some(&statement.programmer_id));
        event.at = self.clock.now();
        event
    }

    /// Changes an application's policy: what `change` names, merged into what it has
    /// (a limit `None` is no limit). Answers the application as it is (or, with
    /// `dry_run`, would be) and what it costs: the live clients, by platform, that
    /// have not presented a DPoP proof in the last 30 days and would now be refused
    /// tokens because their platform starts requiring bound credentials.
    pub async fn set_policy(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        change: PolicyChange,
        dry_run: bool,
    ) -> Result<(Application, PolicyImpact), AdminError> {
        let app = self.get_application(who, app_id).await?;
        self.ensure_may_manage(who, &app)?;
        let policy = change.apply(&app.policy);
        for (field, value, max) in [
            (
                "max_registrations_per_hour_per_statement",
                policy.max_registrations_per_hour_per_statement,
                MAX_QUOTA,
            ),
            (
                "max_registrations_per_hour",
                policy.max_registrations_per_hour,
                MAX_QUOTA,
            ),
            (
                "expire_inactive_after_days",
                policy.expire_inactive_after_days,
                MAX_INACTIVE_DAYS,
            ),
        ] {
            if value.is_some_and(|v| v == 0 || v > max) {
                return Err(invalid(format!(
                    "{field} must be between 1 and {max}, or null for no limit"
                )));
            }
        }
        let catalog = &self.settings.catalog.platforms;
        for (field, modes) in [
            ("bound_credentials", &policy.bound_credentials),
            ("attestation", &policy.attestation),
        ] {
            if let Some(unknown) = modes.platforms.keys().find(|p| !catalog.contains(p)) {
                let shown: String = unknown.chars().take(64).collect();
                return Err(invalid(format!(
                    "{field}: {shown:?} is not a platform; choose from: default, {}",
                    catalog.join(", ")
                )));
            }
        }
        let impact = self.policy_impact(&app, &policy).await?;
        if dry_run {
            return Ok((Application { policy, ..app }, impact));
        }
        let audit = policy_audit(who, &app);
        let updated = self
            .store
            .set_application_policy(&app.id, &policy, &audit)
            .await?;
        Ok((self.changed_application(updated)?, impact))
    }

    /// Replaces the client attesters `app_id` trusts (attestation-based client
    /// authentication): each with its `iss` (or none) and at least one public P-256 or
    /// Ed25519 key.
    pub async fn set_attesters(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        attesters: Vec<crate::binding::AttesterConfig>,
    ) -> Result<Application, AdminError> {
        let app = self.get_application(who, app_id).await?;
        self.ensure_may_manage(who, &app)?;
        if attesters.len() > 16 {
            return Err(invalid("attesters: at most 16"));
        }
        for (i, attester) in attesters.iter().enumerate() {
            if attester.keys.is_empty() || attester.keys.len() > 16 {
                return Err(invalid(format!("attesters[{i}].keys: 1 to 16 public keys")));
            }
            for key in &attester.keys {
                let jwk: serde_json::Value = serde_json::from_str(key)
                    .map_err(|_| invalid(format!("attesters[{i}].keys: not JSON")))?;
                crate::pop::InstallKey::from_jwk(&jwk)
                    .map_err(|e| invalid(format!("attesters[{i}].keys: {e}")))?;
            }
        }
        let audit = policy_audit(who, &app);
        let updated = self
            .store
            .set_application_attesters(&app.id, &attesters, &audit)
            .await?;
        self.changed_application(updated)
    }

    /// Replaces what `app_id` accepts from App Attest and Key Attestation.
    pub async fn set_attestation_settings(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        settings: dcr_proto::attestation::AttestationSettings,
    ) -> Result<Application, AdminError> {
        let app = self.get_application(who, app_id).await?;
        self.ensure_may_manage(who, &app)?;
        super::attestation::validate_settings(&settings).map_err(invalid)?;
        let audit = policy_audit(who, &app);
        let updated = self
            .store
            .set_application_attestation(&app.id, &settings, &audit)
            .await?;
        self.changed_application(updated)
    }

    /// After a change to an application's policy or settings: the application as
    /// stored (gone meanwhile: not found), with the caches that hold the old one
    /// cleared.
    fn changed_application(&self, updated: Option<Application>) -> Result<Application, AdminError> {
        let updated = updated.ok_or(AdminError::NotFound)?;
        self.forget_standings();
        Ok(updated)
    }

    /// Live clients that a change to `policy` would cut off: on each platform that
    /// newly requires bound credentials, those without a DPoP proof in 30 days.
    async fn policy_impact(
        &self,
        app: &Application,
        policy: &ApplicationPolicy,
    ) -> Result<PolicyImpact, AdminError> {
        use crate::binding::Mode;
        let before = &app.policy.bound_credentials;
        let after = &policy.bound_credentials;
        let since = self.clock.now() - 30 * 86_400;
        let mut clients_without_dpop = std::collections::BTreeMap::new();
        for (platform, n) in self.store.clients_without_dpop(&app.id, since).await? {
            if after.for_platform(&platform) == Mode::Require
                && before.for_platform(&platform) != Mode::Require
            {
                clients_without_dpop.insert(platform, n);
            }
        }
        Ok(PolicyImpact {
            clients_without_dpop,
        })
    }

    /// The application's live clients per platform (each it lists, and any other its
    /// clients registered from), with how many hold a key, under the platform's mode.
    pub async fn binding_shares(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
    ) -> Result<Vec<BindingShare>, AdminError> {
        let app = self.get_application(who, app_id).await?;
        let mut shares: std::collections::BTreeMap<String, (u64, u64)> =
            app.platforms.iter().map(|p| (p.clone(), (0, 0))).collect();
        for (platform, method, n) in self.store.clients_by_binding(&app.id).await? {
            let entry = shares.entry(platform).or_default();
            entry.1 += n;
            if method != crate::binding::AuthMethod::ClientSecret {
                entry.0 += n;
            }
        }
        Ok(shares
            .into_iter()
            .map(|(platform, (key_bound, total))| BindingShare {
                mode: app.policy.bound_credentials.for_platform(&platform),
                platform,
                key_bound,
                total,
            })
            .collect())
    }

    /// Channel admins read their applications but change only channel-level ones of
    /// their channel: the same rule as creating one.
    fn ensure_may_manage(&self, who: &Principal, app: &Application) -> Result<(), AdminError> {
        match who.role {
            crate::model::Role::ChannelAdmin
                if app.level != crate::model::AppLevel::Channel
                    || app.channels.first() != who.channel.as_ref() =>
            {
                Err(AdminError::Forbidden)
            }
            _ => Ok(()),
        }
    }

    /// Bulk revocation: every client of the application matching `filter` (all
    /// criteria must match; at least one is required). `dry_run` counts without
    /// revoking. Revokes in bounded batches, each logged for the feed (one entry per
    /// client), and audits one event with the filter and the count. Repeating it
    /// revokes nothing more.
    pub async fn revoke_clients_matching(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        filter: ClientFilter,
        dry_run: bool,
    ) -> Result<u64, AdminError> {
        if filter.is_empty() {
            return Err(invalid(
                "give at least one of statement, platform, registered_after, registered_before",
            ));
        }
        if let (Some(after), Some(before)) = (filter.registered_after, filter.registered_before)
            && after >= before
        {
            return Err(invalid("registered_after must be before registered_before"));
        }
        let app = self.get_application(who, app_id).await?;
        self.ensure_may_manage(who, &app)?;
        if let Some(jti) = &filter.statement {
            // A statement of another application matches nothing; say so plainly.
            let known = self.store.get_statement(jti).await?;
            if known.is_none_or(|s| s.application_id != app.id) {
                return Err(invalid(
                    "statement is not a software statement of this application",
                ));
            }
        }
        if dry_run {
            return Ok(self.store.count_matching_clients(&app.id, &filter).await?);
        }
        let now = self.clock.now();
        let actor = who.actor.to_string();
        let mut revoked = 0u64;
        let mut from = ScanCursor::default();
        loop {
            let batch = self
                .store
                .revoke_matching_clients(&app.id, &filter, from, now, &actor, LIFECYCLE_BATCH)
                .await?;
            revoked += batch.revoked;
            // Clear cached standings after every batch: revoked clients stop at once.
            self.forget_standings();
            match batch.next {
                Some(next) => from = next,
                None => break,
            }
        }
        let mut event = audit_event(
            who,
            AuditAction::ClientsBulkRevoked,
            "application",
            &app.id.to_string(),
            Some(&app.programmer_id),
        );
        event.target_id = format!("{} {} revoked={revoked}", app.id, describe(&filter));
        event.at = now;
        self.store.append_summary_event(&event).await?;
        Ok(revoked)
    }

    /// The inactivity sweep: on one node at a time (a lease in the store), expires in
    /// bounded batches the clients of every application with an inactivity policy
    /// whose last use (or registration, if never used) is older than the policy, logs
    /// each for the feed, and audits one summary event per run. Returns how many
    /// expired; `None` when another node is sweeping.
    pub async fn sweep_inactive(&self, holder: &str) -> Result<Option<u64>, StoreError> {
        let now = self.clock.now();
        if !self
            .store
            .try_lease("inactivity-sweep", holder, now, now + SWEEP_LEASE_SECONDS)
            .await?
        {
            return Ok(None);
        }
        let result = self.sweep_with_lease(holder, now).await;
        let released = self.store.release_lease("inactivity-sweep", holder).await;
        let expired = result?;
        released?;
        Ok(Some(expired))
    }

    async fn sweep_with_lease(&self, holder: &str, now: i64) -> Result<u64, StoreError> {
        // This node's use of the last seconds first: last use is written at each
        // token-count flush. (Another node's unflushed seconds can only matter for a
        // client idle for the whole policy and used in those seconds; it registers
        // again.)
        self.flush_token_counts().await?;
        let mut expired = 0u64;
        for (app, days) in self.store.applications_expiring_inactive().await? {
            let cutoff = now.saturating_sub(i64::from(days).saturating_mul(86_400));
            loop {
                let batch = self
                    .store
                    .expire_inactive_clients(&app, cutoff, now, LIFECYCLE_BATCH)
                    .await?;
                expired += batch;
                self.forget_standings();
                if batch < u64::from(LIFECYCLE_BATCH) {
                    break;
                }
                // Keep the lease while a long sweep runs.
                self.store
                    .try_lease(
                        "inactivity-sweep",
                        holder,
                        now,
                        self.clock.now() + SWEEP_LEASE_SECONDS,
                    )
                    .await?;
            }
        }
        let mut event = audit_event(
            &Principal::system(),
            AuditAction::ClientsExpiredInactive,
            "deployment",
            &format!("expired={expired}"),
            None,
        );
        event.at = now;
        self.store.append_summary_event(&event).await?;
        Ok(expired)
    }

    /// The operator's "run it now": `POST /admin/v1/lifecycle/sweep`.
    pub async fn sweep_now(&self, who: &Principal) -> Result<u64, AdminError> {
        if !who.is_operator() {
            return Err(AdminError::Forbidden);
        }
        match self
            .sweep_inactive(&format!("request:{}", who.actor))
            .await?
        {
            Some(n) => Ok(n),
            None => Err(AdminError::Conflict(
                "an inactivity sweep is running on another node; try again shortly".into(),
            )),
        }
    }

    /// Registrations and tokens per day over the last `days` days (zero-filled), per
    /// application and per statement; standing clients by platform, OS and model; and
    /// registration spikes per statement.
    pub async fn activity(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        days: u32,
    ) -> Result<Activity, AdminError> {
        if days == 0 || days > MAX_ACTIVITY_DAYS {
            return Err(invalid(format!(
                "days must be between 1 and {MAX_ACTIVITY_DAYS}"
            )));
        }
        let app = self.get_application(who, app_id).await?;
        self.application_activity(&app.id, days).await
    }

    pub(crate) async fn application_activity(
        &self,
        app: &ApplicationId,
        days: u32,
    ) -> Result<Activity, AdminError> {
        let now = self.clock.now();
        let today = now.div_euclid(86_400);
        let first = today - i64::from(days) + 1;
        let rollup = self.store.activity(app, first).await?;
        let unflushed = self.unflushed_token_days(app);

        let window = |counts: &BTreeMap<i64, DayCount>| -> Vec<DayCount> {
            (first..=today)
                .map(|day| {
                    counts.get(&day).copied().unwrap_or(DayCount {
                        day,
                        ..Default::default()
                    })
                })
                .collect()
        };
        let mut total: BTreeMap<i64, DayCount> = BTreeMap::new();
        let mut per_statement: BTreeMap<StatementId, BTreeMap<i64, DayCount>> = BTreeMap::new();
        let mut add = |jti: StatementId, c: DayCount| {
            for into in [
                total.entry(c.day).or_insert(DayCount {
                    day: c.day,
                    ..Default::default()
                }),
                per_statement
                    .entry(jti)
                    .or_default()
                    .entry(c.day)
                    .or_insert(DayCount {
                        day: c.day,
                        ..Default::default()
                    }),
            ] {
                into.registrations += c.registrations;
                into.tokens += c.tokens;
            }
        };
        for (jti, c) in rollup.daily {
            add(jti, c);
        }
        for (jti, day, tokens) in unflushed {
            if day >= first {
                add(
                    jti,
                    DayCount {
                        day,
                        registrations: 0,
                        tokens,
                    },
                );
            }
        }

        let hour_now = now.div_euclid(3_600);
        let mut hourly: BTreeMap<StatementId, (u64, u64)> = BTreeMap::new();
        for (jti, hour, n) in rollup.hourly_registrations {
            let entry = hourly.entry(jti).or_default();
            if hour == hour_now {
                entry.0 += n;
            } else if hour < hour_now && hour >= hour_now - 7 * 24 {
                entry.1 += n;
            }
            per_statement.entry(jti).or_default();
        }
        let mut statements = Vec::new();
        for (jti, counts) in &per_statement {
            let (last_hour, trailing) = hourly.get(jti).copied().unwrap_or_default();
            let mean = trailing as f64 / (7.0 * 24.0);
            statements.push(StatementActivity {
                jti: *jti,
                daily: window(counts),
                registrations_last_hour: last_hour,
                hourly_mean_7d: mean,
                spike: is_spike(last_hour, mean),
            });
        }
        let mut activity = Activity {
            daily: window(&total),
            spike: statements.iter().any(|s| s.spike),
            statements,
            ..Default::default()
        };
        for (dimension, value, n) in rollup.breakdown {
            match dimension.as_str() {
                "platform" => activity.by_platform.push((value, n)),
                "os" => activity.by_os.push((value, n)),
                "model" => activity.by_model.push((value, n)),
                _ => {}
            }
        }
        Ok(activity)
    }

    /// Unflushed token counts of one application, per statement and day.
    fn unflushed_token_days(&self, app: &ApplicationId) -> Vec<(StatementId, i64, u64)> {
        self.token_counts_snapshot()
            .into_iter()
            .filter(|((a, _, _), _)| a == app)
            .map(|((_, jti, day), n)| (jti, day, n))
            .collect()
    }

    /// Looks for registration spikes (in the applications whose statements registered
    /// more than the floor this hour) and records each new one: one audit event per
    /// statement per day. Returns the statements newly reported, for the caller's
    /// metric and log. Run on a timer.
    pub async fn detect_spikes(&self) -> Result<Vec<StatementId>, AdminError> {
        let mut fresh = Vec::new();
        let now = self.clock.now();
        let day = now.div_euclid(86_400);
        let apps = self
            .store
            .applications_registering(now.div_euclid(3_600), SPIKE_FLOOR)
            .await?;
        for app in &apps {
            let Some(record) = self.store.get_application(app).await? else {
                continue;
            };
            let activity = self.application_activity(app, 1).await?;
            for s in activity.statements.iter().filter(|s| s.spike) {
                let mut event = audit_event(
                    &Principal::system(),
                    AuditAction::StatementRegistrationSpike,
                    "statement",
                    &s.jti.to_string(),
                    Some(&record.programmer_id),
                );
                event.at = self.clock.now();
                if self.store.record_spike(&s.jti, day, &event).await? {
                    fresh.push(s.jti);
                }
            }
        }
        Ok(fresh)
    }
}

/// Registrations in the last hour above max(100, 5 × the trailing 7-day hourly mean).
fn is_spike(last_hour: u64, hourly_mean_7d: f64) -> bool {
    last_hour as f64 > (SPIKE_FLOOR as f64).max(SPIKE_FACTOR * hourly_mean_7d)
}

/// The filter as the audit event records it.
fn describe(filter: &ClientFilter) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &filter.statement {
        parts.push(format!("statement={s}"));
    }
    if let Some(p) = &filter.platform {
        parts.push(format!("platform={p}"));
    }
    if let Some(t) = filter.registered_after {
        parts.push(format!("registered_after={t}"));
    }
    if let Some(t) = filter.registered_before {
        parts.push(format!("registered_before={t}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spikes_need_a_floor_and_five_times_the_mean() {
        assert!(!is_spike(100, 0.0));
        assert!(is_spike(101, 0.0));
        assert!(!is_spike(400, 100.0));
        assert!(is_spike(501, 100.0));
    }
}

/// A change to an application's policy: what it names is set, the rest kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChange {
    /// `Some(None)` removes the limit.
    pub max_registrations_per_hour_per_statement: Option<Option<u32>>,
    pub max_registrations_per_hour: Option<Option<u32>>,
    pub expire_inactive_after_days: Option<Option<u32>>,
    /// Per platform (or `default`): `Some(mode)` sets it, `None` drops a platform back
    /// to the default.
    pub bound_credentials: std::collections::BTreeMap<String, Option<crate::binding::Mode>>,
    /// Platform attestation at registration, merged the same way.
    pub attestation: std::collections::BTreeMap<String, Option<crate::binding::Mode>>,
}

impl PolicyChange {
    /// The policy `old` becomes.
    pub fn apply(&self, old: &ApplicationPolicy) -> ApplicationPolicy {
        let mut policy = old.clone();
        let set = |field: &mut Option<u32>, change: Option<Option<u32>>| {
            if let Some(value) = change {
                *field = value;
            }
        };
        set(
            &mut policy.max_registrations_per_hour_per_statement,
            self.max_registrations_per_hour_per_statement,
        );
        set(
            &mut policy.max_registrations_per_hour,
            self.max_registrations_per_hour,
        );
        set(
            &mut policy.expire_inactive_after_days,
            self.expire_inactive_after_days,
        );
        merge_modes(&mut policy.bound_credentials, &self.bound_credentials);
        merge_modes(&mut policy.attestation, &self.attestation);
        policy
    }
}

/// The audit event of a change to `app`'s policy or settings.
fn policy_audit(who: &Principal, app: &Application) -> AuditEvent {
    audit_event(
        who,
        AuditAction::ApplicationPolicySet,
        "application",
        &app.id.to_string(),
        Some(&app.programmer_id),
    )
}

/// Merges per-platform changes: `Some(mode)` sets a platform (or `default`), `None`
/// drops it back to the default.
fn merge_modes(
    modes: &mut crate::binding::PlatformModes,
    changes: &std::collections::BTreeMap<String, Option<crate::binding::Mode>>,
) {
    for (platform, mode) in changes {
        match (platform.as_str(), mode) {
            ("default", Some(mode)) => modes.default = *mode,
            ("default", None) => modes.default = Default::default(),
            (_, Some(mode)) => {
                modes.platforms.insert(platform.clone(), *mode);
            }
            (_, None) => {
                modes.platforms.remove(platform);
            }
        }
    }
}

/// One platform's live clients and how many of them hold a key ([`Dcr::binding_shares`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingShare {
    pub platform: String,
    pub mode: crate::binding::Mode,
    pub key_bound: u64,
    pub total: u64,
}

/// What a policy change costs (see [`Dcr::set_policy`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyImpact {
    pub clients_without_dpop: std::collections::BTreeMap<String, u64>,
}
