//! 一张图: the map page. The page is a frame (layer toggles, legend, the
//! map's box); `map.js` draws it from `GET /api/v1/map` with the vendored
//! Leaflet, so the page needs nothing from the internet.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use super::{Layout, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/map", get(page))
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    layout: Layout,
}

async fn page(me: PageUser) -> Response {
    render(MapPage {
        layout: Layout::new(&me.user, &me.csrf, "map"),
    })
}
