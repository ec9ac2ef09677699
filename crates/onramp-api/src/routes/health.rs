//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;

use crate::state::AppState;

/// `{ "status": "ok" }` of `/healthz`.
#[derive(Serialize, JsonSchema)]
pub struct HealthBody {
    status: &'static str,
}

/// What `/readyz` answers: `ready` or `unavailable`, and which database backend was asked.
#[derive(Serialize, JsonSchema)]
pub struct ReadyBody {
    database: &'static str,
    status: &'static str,
}

pub async fn healthz() -> Json<HealthBody> {
    Json(HealthBody { status: "ok" })
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<ReadyBody>) {
    let (backend, answers) = state.core.readiness().await;
    match answers {
        Ok(()) => (StatusCode::OK, Json(ReadyBody { database: backend, status: "ready" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(ReadyBody { database: backend, status: "unavailable" }))
        }
    }
}
