//! What the operations console reads: applications side by side, statements with their
//! clients, and the impact of an action before it happens. Each read costs a fixed
//! number of store calls, whatever the number of rows.

use super::Dcr;
use super::admin::Principal;
use crate::error::AdminError;
use crate::ids::{ApplicationId, ProgrammerId, StatementId};
use crate::model::{
    Application, ApplicationUsage, ClientFilter, Impact, PageOf, PageRequest, StatementRecord,
};

/// Registrations and tokens over a window of days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub registrations: u64,
    pub tokens: u64,
}

/// One row of the programmer overview.
#[derive(Debug, Clone)]
pub struct ApplicationSummary {
    pub application: Application,
    pub usage: ApplicationUsage,
    /// Today (UTC), the last 7 and the last 30 days, today included.
    pub today: Totals,
    pub last_7_days: Totals,
    pub last_30_days: Totals,
}

/// A statement with its clients.
#[derive(Debug, Clone)]
pub struct StatementSummary {
    pub record: StatementRecord,
    pub clients: u64,
    /// Clients that still get tokens through it: not revoked on their own, and the
    /// statement and its application stand.
    pub standing_clients: u64,
}

const WINDOWS: [i64; 3] = [1, 7, 30];

impl Dcr {
    /// A page of a programmer's applications with their usage and recent activity.
    pub async fn application_summaries(
        &self,
        who: &Principal,
        programmer: &ProgrammerId,
        page: PageRequest,
    ) -> Result<PageOf<ApplicationSummary>, AdminError> {
        let apps = self.list_applications(who, programmer, page).await?;
        let ids: Vec<ApplicationId> = apps.items.iter().map(|a| a.id).collect();
        let usage: std::collections::HashMap<ApplicationId, ApplicationUsage> = self
            .store
            .usage_of_applications(&ids)
            .await?
            .into_iter()
            .collect();
        let today = self.clock.now().div_euclid(86_400);
        let mut windows = Vec::with_capacity(WINDOWS.len());
        for days in WINDOWS {
            let first = today - days + 1;
            let mut totals: std::collections::HashMap<ApplicationId, Totals> = self
                .store
                .activity_totals(&ids, first)
                .await?
                .into_iter()
                .map(|(id, registrations, tokens)| {
                    (
                        id,
                        Totals {
                            registrations,
                            tokens,
                        },
                    )
                })
                .collect();
            for ((app, _, day), n) in self.token_counts_snapshot() {
                if day >= first && ids.contains(&app) {
                    totals.entry(app).or_default().tokens += n;
                }
            }
            windows.push(totals);
        }
        let items = apps
            .items
            .into_iter()
            .map(|application| {
                let id = application.id;
                let mut usage = usage.get(&id).copied().unwrap_or_default();
                self.add_unflushed(&id, &mut usage);
                let window = |i: usize| windows[i].get(&id).copied().unwrap_or_default();
                ApplicationSummary {
                    application,
                    usage,
                    today: window(0),
                    last_7_days: window(1),
                    last_30_days: window(2),
                }
            })
            .collect();
        Ok(PageOf {
            items,
            next: apps.next,
        })
    }

    /// Every statement of an application (newest first) with its client counts.
    pub async fn statement_summaries(
        &self,
        who: &Principal,
        app: &Application,
    ) -> Result<Vec<StatementSummary>, AdminError> {
        // Authorised through the application the caller could read.
        self.get_application(who, &app.id).await?;
        let mut records = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_statements(
                    &app.id,
                    PageRequest {
                        after,
                        limit: PageRequest::MAX_LIMIT,
                    },
                )
                .await?;
            records.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        records.reverse();
        let jtis: Vec<StatementId> = records.iter().map(|s| s.jti).collect();
        let counts: std::collections::HashMap<StatementId, (u64, u64)> = self
            .store
            .clients_per_statement(&jtis)
            .await?
            .into_iter()
            .map(|(jti, all, active)| (jti, (all, active)))
            .collect();
        Ok(records
            .into_iter()
            .map(|record| {
                let (clients, active) = counts.get(&record.jti).copied().unwrap_or_default();
                let stands = record.effective(app).revoked_via.is_none();
                StatementSummary {
                    standing_clients: if stands { active } else { 0 },
                    clients,
                    record,
                }
            })
            .collect())
    }

    /// An application's clients, newest first.
    pub async fn recent_clients(
        &self,
        who: &Principal,
        app: &Application,
        page: PageRequest,
    ) -> Result<PageOf<crate::model::ClientStanding>, AdminError> {
        self.get_application(who, &app.id).await?;
        let mut clients = self.store.list_clients_newest(&app.id, page).await?;
        for standing in &mut clients.items {
            self.add_unflushed_use(&mut standing.client);
        }
        Ok(clients)
    }

    /// The clients an action on `app` restricted by `filter` would cut off, by
    /// platform: those not already revoked on their own. An empty filter means every
    /// client of the application.
    pub async fn impact(
        &self,
        who: &Principal,
        app_id: &ApplicationId,
        filter: &ClientFilter,
    ) -> Result<Impact, AdminError> {
        let app = self.get_application(who, app_id).await?;
        Ok(Impact {
            by_platform: self
                .store
                .matching_clients_by_platform(&app.id, filter)
                .await?,
        })
    }
}
