//! 一张图 over the API: the map's layers as the caller may see them, and
//! the base-layer settings. Everything is computed in
//! [`gongjian_app::map`]; this module only adds the tile configuration.

use axum::Json;
use axum::extract::State;
use gongjian_app::map::MapData;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::session::ApiUser;

/// The base layer, when `map.tile_url` is configured.
#[derive(Debug, Serialize)]
pub struct Tiles {
    pub url: String,
    pub attribution: String,
}

#[derive(Debug, Serialize)]
pub struct MapAnswer {
    /// None: no base layer (boundaries and points on a plain background).
    pub tiles: Option<Tiles>,
    #[serde(flatten)]
    pub data: MapData,
}

pub(crate) async fn map_as(
    state: &AppState,
    user: &gongjian_storage::User,
) -> Result<MapAnswer, ApiError> {
    let data = gongjian_app::map::map_for(
        &state.db,
        &state.air_cache,
        user,
        gongjian_app::now_local(),
        gongjian_storage::now(),
    )
    .await?;
    let m = &state.settings.map;
    Ok(MapAnswer {
        tiles: (!m.tile_url.is_empty()).then(|| Tiles {
            url: m.tile_url.clone(),
            attribution: m.attribution.clone(),
        }),
        data,
    })
}

#[utoipa::path(get, path = "/map", summary = "一张图：空气站、污染源、水质断面、火点和督办单的位置与状态（企业、乡镇只见本单位的污染源、火点和督办单），以及方案中的乡镇边界",
    responses((status = 200, description = "底图设置、边界（GeoJSON）和各图层的点位", body = Object)))]
pub async fn map(State(state): State<AppState>, me: ApiUser) -> Result<Json<MapAnswer>, ApiError> {
    Ok(Json(map_as(&state, &me.user).await?))
}
