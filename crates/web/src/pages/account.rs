use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, check_csrf, error_text, render};
use crate::AppState;
use crate::session::PageUser;

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
}

pub(crate) async fn password_form(me: PageUser) -> Response {
    render(PasswordPage {
        forced: me.user.must_change_password,
        layout: Layout::new(&me.user, &me.csrf, ""),
    })
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

pub(crate) async fn password_submit(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Response {
    if let Err(resp) = check_csrf(&me, &form.csrf) {
        return resp;
    }
    let fail = |msg: String| {
        let mut resp = render(PasswordPage {
            forced: me.user.must_change_password,
            layout: Layout::new(&me.user, &me.csrf, "").error(Some(msg)),
        });
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        resp
    };
    if form.new != form.confirm {
        return fail("两次输入的新密码不一致".into());
    }
    match crate::api::change_own_password(&state, &me.user, &me.actor(), &form.current, &form.new)
        .await
    {
        // A password change ends every session, this one included.
        Ok(()) => Redirect::to("/login").into_response(),
        Err(err) => fail(error_text(&err)),
    }
}
