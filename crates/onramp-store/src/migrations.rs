//! Migrations, embedded in the binary: one folder per backend, the same file names in both, applied by
//! sqlx's migrator (which records each in `_sqlx_migrations` with a checksum, so an edited applied migration
//! is refused, and takes an advisory lock on PostgreSQL so that nodes starting together migrate once).

use std::borrow::Cow;
use std::pin::Pin;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::Backend;

/// (version, description, SQL) per backend; keep both lists the same length and names.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "directory", include_str!("../migrations/sqlite/0002_directory.sql")),
    (3, "apps", include_str!("../migrations/sqlite/0003_apps.sql")),
    (4, "change_feed", include_str!("../migrations/sqlite/0004_change_feed.sql")),
    (5, "invitations", include_str!("../migrations/sqlite/0005_invitations.sql")),
    (6, "onboarding_settings", include_str!("../migrations/sqlite/0006_onboarding_settings.sql")),
    (7, "onboarding", include_str!("../migrations/sqlite/0007_onboarding.sql")),
    (8, "onboard_holds_user", include_str!("../migrations/sqlite/0008_onboard_holds_user.sql")),
    (9, "password_failures", include_str!("../migrations/sqlite/0009_password_failures.sql")),
    (10, "tenant_settings", include_str!("../migrations/sqlite/0010_tenant_settings.sql")),
    (11, "outbox_html", include_str!("../migrations/sqlite/0011_outbox_html.sql")),
    (12, "approval_links", include_str!("../migrations/sqlite/0012_approval_links.sql")),
    (13, "sessions", include_str!("../migrations/sqlite/0013_sessions.sql")),
    (14, "password_resets", include_str!("../migrations/sqlite/0014_password_resets.sql")),
    (15, "totp", include_str!("../migrations/sqlite/0015_totp.sql")),
    (16, "console", include_str!("../migrations/sqlite/0016_console.sql")),
    (17, "console_users", include_str!("../migrations/sqlite/0017_console_users.sql")),
    (18, "console_indexes", include_str!("../migrations/sqlite/0018_console_indexes.sql")),
    (21, "onboard_turn_since", include_str!("../migrations/sqlite/0021_onboard_turn_since.sql")),
    (22, "scim", include_str!("../migrations/sqlite/0022_scim.sql")),
    (23, "webhooks", include_str!("../migrations/sqlite/0023_webhooks.sql")),
    (24, "users_without_email", include_str!("../migrations/sqlite/0024_users_without_email.sql")),
    (25, "scim_groups", include_str!("../migrations/sqlite/0025_scim_groups.sql")),
    (26, "scim_attributes", include_str!("../migrations/sqlite/0026_scim_attributes.sql")),
    (27, "one_user_name_index", include_str!("../migrations/sqlite/0027_one_user_name_index.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "directory", include_str!("../migrations/postgres/0002_directory.sql")),
    (3, "apps", include_str!("../migrations/postgres/0003_apps.sql")),
    (4, "change_feed", include_str!("../migrations/postgres/0004_change_feed.sql")),
    (5, "invitations", include_str!("../migrations/postgres/0005_invitations.sql")),
    (6, "onboarding_settings", include_str!("../migrations/postgres/0006_onboarding_settings.sql")),
    (7, "onboarding", include_str!("../migrations/postgres/0007_onboarding.sql")),
    (8, "onboard_holds_user", include_str!("../migrations/postgres/0008_onboard_holds_user.sql")),
    (9, "password_failures", include_str!("../migrations/postgres/0009_password_failures.sql")),
    (10, "tenant_settings", include_str!("../migrations/postgres/0010_tenant_settings.sql")),
    (11, "outbox_html", include_str!("../migrations/postgres/0011_outbox_html.sql")),
    (12, "approval_links", include_str!("../migrations/postgres/0012_approval_links.sql")),
    (13, "sessions", include_str!("../migrations/postgres/0013_sessions.sql")),
    (14, "password_resets", include_str!("../migrations/postgres/0014_password_resets.sql")),
    (15, "totp", include_str!("../migrations/postgres/0015_totp.sql")),
    (16, "console", include_str!("../migrations/postgres/0016_console.sql")),
    (17, "console_users", include_str!("../migrations/postgres/0017_console_users.sql")),
    (18, "console_indexes", include_str!("../migrations/postgres/0018_console_indexes.sql")),
    (21, "onboard_turn_since", include_str!("../migrations/postgres/0021_onboard_turn_since.sql")),
    (22, "scim", include_str!("../migrations/postgres/0022_scim.sql")),
    (23, "webhooks", include_str!("../migrations/postgres/0023_webhooks.sql")),
    (24, "users_without_email", include_str!("../migrations/postgres/0024_users_without_email.sql")),
    (25, "scim_groups", include_str!("../migrations/postgres/0025_scim_groups.sql")),
    (26, "scim_attributes", include_str!("../migrations/postgres/0026_scim_attributes.sql")),
    (27, "one_user_name_index", include_str!("../migrations/postgres/0027_one_user_name_index.sql")),
];

#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |list: &[(i64, &str, &str)]| list.iter().map(|(v, d, _)| (*v, d.to_string())).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }
}
