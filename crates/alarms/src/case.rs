//! The closed loop of a 督办 case: 待签收 → 整改中 → 待核查 → 待销号 →
//! 已销号, with 退回 (back to rectification) and 重新打开 (the same
//! alarm recurred within the window after closing). Who may take each
//! action is the service layer's business; which action is allowed from
//! which state is decided here, once.

use serde::{Deserialize, Serialize};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 待签收: issued, not yet acknowledged by the responsible unit.
    Pending,
    /// 整改中: acknowledged, being rectified.
    Rectifying,
    /// 待核查: the unit answered; waiting for the on-site check.
    Verifying,
    /// 待销号: checked on site; waiting for the office to close it.
    Verified,
    /// 已退回: the check or the office sent it back; being rectified again.
    Returned,
    /// 已销号: closed.
    Closed,
    /// 重新打开: closed, then the problem recurred; to be acknowledged again.
    Reopened,
}

impl CaseState {
    pub const ALL: [CaseState; 7] = [
        CaseState::Pending,
        CaseState::Rectifying,
        CaseState::Verifying,
        CaseState::Verified,
        CaseState::Returned,
        CaseState::Closed,
        CaseState::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Pending => "pending",
            CaseState::Rectifying => "rectifying",
            CaseState::Verifying => "verifying",
            CaseState::Verified => "verified",
            CaseState::Returned => "returned",
            CaseState::Closed => "closed",
            CaseState::Reopened => "reopened",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CaseState::Pending => "待签收",
            CaseState::Rectifying => "整改中",
            CaseState::Verifying => "待核查",
            CaseState::Verified => "待销号",
            CaseState::Returned => "已退回",
            CaseState::Closed => "已销号",
            CaseState::Reopened => "重新打开",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Still needs someone's work (not closed).
    pub fn is_open(self) -> bool {
        self != CaseState::Closed
    }

    /// The responsible unit is the one to act (acknowledge or answer).
    pub fn waits_for_unit(self) -> bool {
        matches!(
            self,
            CaseState::Pending | CaseState::Rectifying | CaseState::Returned | CaseState::Reopened
        )
    }
}

/// What someone does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    /// 签收 (the responsible unit).
    Accept,
    /// 反馈整改情况: explanation, measures, photos (the responsible unit).
    Answer,
    /// 核查通过 (the township or the office, on site).
    Verify,
    /// 退回 (the checker or the office): rectify again.
    Return,
    /// 销号 (the office).
    Close,
    /// 重新打开 (the platform, when the alarm recurs; or the office).
    Reopen,
}

impl CaseAction {
    pub const ALL: [CaseAction; 6] = [
        CaseAction::Accept,
        CaseAction::Answer,
        CaseAction::Verify,
        CaseAction::Return,
        CaseAction::Close,
        CaseAction::Reopen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseAction::Accept => "accept",
            CaseAction::Answer => "answer",
            CaseAction::Verify => "verify",
            CaseAction::Return => "return",
            CaseAction::Close => "close",
            CaseAction::Reopen => "reopen",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CaseAction::Accept => "签收",
            CaseAction::Answer => "反馈整改",
            CaseAction::Verify => "核查通过",
            CaseAction::Return => "退回",
            CaseAction::Close => "销号",
            CaseAction::Reopen => "重新打开",
        }
    }

    pub fn parse(s: &str) -> Option<CaseAction> {
        CaseAction::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Needs a written note (an answer, a reason to return or reopen).
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            CaseAction::Answer | CaseAction::Return | CaseAction::Reopen
        )
    }
}

/// An action not allowed from the case's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("督办单当前为「{}」，不能{}", .state.label(), .action.label())]
pub struct CaseError {
    pub state: CaseState,
    pub action: CaseAction,
}

/// The state after `action`, or why it is not allowed.
pub fn transition(state: CaseState, action: CaseAction) -> Result<CaseState, CaseError> {
    use CaseAction as A;
    use CaseState as S;
    let next = match (state, action) {
        (S::Pending | S::Reopened, A::Accept) => S::Rectifying,
        // Answering implies acknowledging: a unit that answers at once
        // need not accept first.
        (S::Pending | S::Reopened | S::Rectifying | S::Returned, A::Answer) => S::Verifying,
        (S::Verifying, A::Verify) => S::Verified,
        (S::Verifying | S::Verified, A::Return) => S::Returned,
        (S::Verified, A::Close) => S::Closed,
        (S::Closed, A::Reopen) => S::Reopened,
        _ => return Err(CaseError { state, action }),
    };
    Ok(next)
}

/// Actions allowed from `state` (whoever may take them).
pub fn allowed(state: CaseState) -> Vec<CaseAction> {
    CaseAction::ALL
        .into_iter()
        .filter(|a| transition(state, *a).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_loop_runs_from_issue_to_close_and_reopens() {
        let mut s = CaseState::Pending;
        for a in [
            CaseAction::Accept,
            CaseAction::Answer,
            CaseAction::Verify,
            CaseAction::Close,
            CaseAction::Reopen,
        ] {
            s = transition(s, a).unwrap();
        }
        assert_eq!(s, CaseState::Reopened);
    }

    #[test]
    fn a_returned_case_must_be_answered_again_and_nothing_skips_the_check() {
        let s = transition(CaseState::Verifying, CaseAction::Return).unwrap();
        assert_eq!(s, CaseState::Returned);
        let e = transition(s, CaseAction::Close).unwrap_err();
        assert_eq!(e.to_string(), "督办单当前为「已退回」，不能销号");
        assert!(transition(CaseState::Rectifying, CaseAction::Verify).is_err());
        assert!(transition(CaseState::Verifying, CaseAction::Close).is_err());
        assert!(transition(CaseState::Closed, CaseAction::Answer).is_err());
    }

    #[test]
    fn every_state_but_closed_has_a_way_forward() {
        for s in CaseState::ALL {
            assert!(!allowed(s).is_empty(), "{s:?}");
        }
    }
}
