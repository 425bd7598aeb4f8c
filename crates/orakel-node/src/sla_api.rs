//! `GET /v2/sla` (the SLAs this node saw proposed for its sla jobs, newest first),
//! `GET /v2/sla/{slaId}/rounds` (one SLA with the rounds the node took part in; `?market=`
//! picks the market when several have an SLA with that id) and `POST /v2/sla/withdraw`
//! (`{"market": "0x…"}`: sends `withdraw()`, collecting payments and returned deposits).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::NodeShared;
use crate::routes::{HttpError, HttpResult};

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    market: Option<String>,
}

pub(crate) async fn list(
    State(shared): State<Arc<NodeShared>>,
    Query(q): Query<ListQuery>,
) -> HttpResult<Json<serde_json::Value>> {
    let slas = shared
        .store
        .list_slas(q.limit.unwrap_or(50).min(1000))
        .await?;
    Ok(Json(json!({ "slas": slas })))
}

pub(crate) async fn rounds(
    State(shared): State<Arc<NodeShared>>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> HttpResult<Json<serde_json::Value>> {
    let id = id.trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(HttpError::bad_request(format!(
            "SLA id {id:?}: expected a decimal number"
        )));
    }
    let mut slas = shared.store.slas_with_id(id).await?;
    if let Some(market) = &q.market {
        let market = market.trim().to_ascii_lowercase();
        slas.retain(|s| s.market == market);
    }
    let sla = match slas.len() {
        0 => return Err(HttpError::not_found(format!("no SLA with id {id}"))),
        1 => slas.remove(0),
        _ => {
            return Err(HttpError::bad_request(format!(
                "SLA id {id} exists in several markets; add ?market=0x…"
            )));
        }
    };
    let rounds = shared
        .store
        .sla_rounds_of(sla.id, q.limit.unwrap_or(100).min(10_000))
        .await?;
    Ok(Json(json!({ "sla": sla, "rounds": rounds })))
}

#[derive(Deserialize)]
pub(crate) struct WithdrawJson {
    market: String,
}

pub(crate) async fn withdraw(
    State(shared): State<Arc<NodeShared>>,
    Json(body): Json<WithdrawJson>,
) -> HttpResult<(StatusCode, Json<serde_json::Value>)> {
    let market: alloy::primitives::Address = body
        .market
        .trim()
        .parse()
        .map_err(|e| HttpError::field("market", format!("not an address: {e}")))?;
    use alloy::sol_types::SolCall;
    let data = orakel_contracts::sla::Market::withdrawCall {}.abi_encode();
    // Every withdrawal is its own transaction.
    let key = format!("sla/{market:#x}/withdraw/{}", orakel_store::now_micros());
    shared
        .sla_chain
        .send(&key, market, data.into(), None)
        .await
        .map_err(|e| crate::Error::Sla(e.to_string()))?;
    tracing::info!(market = %format!("{market:#x}"), "SLA market withdrawal sent");
    Ok((StatusCode::ACCEPTED, Json(json!({ "idempotencyKey": key }))))
}
