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
    /// Each refusal next to its field. Passwords are never sent back.
    errors: PasswordErrors,
}

#[derive(Default)]
struct PasswordErrors {
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

pub(crate) async fn password_form(me: PageUser) -> Response {
    render(PasswordPage {
        forced: me.user.must_change_password,
        layout: Layout::new(&me.user, &me.csrf, ""),
        errors: PasswordErrors::default(),
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
    let fail = |errors: PasswordErrors| {
        let mut resp = render(PasswordPage {
            forced: me.user.must_change_password,
            layout: Layout::new(&me.user, &me.csrf, "")
                .error(Some("密码未修改，请按提示重新填写".into())),
            errors,
        });
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        resp
    };
    if form.new != form.confirm {
        return fail(PasswordErrors {
            confirm: Some("两次输入的新密码不一致".into()),
            ..PasswordErrors::default()
        });
    }
    match crate::api::change_own_password(&state, &me.user, &me.actor(), &form.current, &form.new)
        .await
    {
        // A password change ends every session, this one included.
        Ok(()) => Redirect::to("/login").into_response(),
        Err(err) if err.code == crate::error::ErrorCode::WrongPassword => fail(PasswordErrors {
            current: Some(error_text(&err)),
            ..PasswordErrors::default()
        }),
        Err(err) => fail(PasswordErrors {
            new: Some(error_text(&err)),
            ..PasswordErrors::default()
        }),
    }
}
