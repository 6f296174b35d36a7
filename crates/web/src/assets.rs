//! Static assets compiled into the binary: the platform must work on a
//! government intranet with no internet access.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/app.css"),
    },
    Asset {
        path: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        path: "monitoring.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/monitoring.js"),
    },
    Asset {
        path: "overview.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/overview.js"),
    },
    Asset {
        path: "cases.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/cases.js"),
    },
    Asset {
        path: "notify.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/notify.js"),
    },
    Asset {
        path: "tasks.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/tasks.js"),
    },
    Asset {
        path: "vendor/htmx/htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx/htmx.min.js"),
    },
    Asset {
        path: "vendor/echarts/echarts.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/echarts/echarts.min.js"),
    },
    Asset {
        path: "vendor/htmx/LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/htmx/LICENSE"),
    },
    Asset {
        path: "vendor/echarts/LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/echarts/LICENSE"),
    },
    Asset {
        path: "vendor/leaflet/leaflet.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/leaflet/leaflet.js"),
    },
    Asset {
        path: "vendor/leaflet/leaflet.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/vendor/leaflet/leaflet.css"),
    },
    Asset {
        path: "vendor/leaflet/LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/leaflet/LICENSE"),
    },
    Asset {
        path: "vendor/leaflet/images/layers.png",
        content_type: "image/png",
        body: include_bytes!("../assets/vendor/leaflet/images/layers.png"),
    },
    Asset {
        path: "vendor/leaflet/images/layers-2x.png",
        content_type: "image/png",
        body: include_bytes!("../assets/vendor/leaflet/images/layers-2x.png"),
    },
    Asset {
        path: "vendor/leaflet/images/marker-icon.png",
        content_type: "image/png",
        body: include_bytes!("../assets/vendor/leaflet/images/marker-icon.png"),
    },
    Asset {
        path: "vendor/leaflet/images/marker-icon-2x.png",
        content_type: "image/png",
        body: include_bytes!("../assets/vendor/leaflet/images/marker-icon-2x.png"),
    },
    Asset {
        path: "vendor/leaflet/images/marker-shadow.png",
        content_type: "image/png",
        body: include_bytes!("../assets/vendor/leaflet/images/marker-shadow.png"),
    },
    Asset {
        path: "map.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/map.js"),
    },
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
