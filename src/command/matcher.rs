//! Finding the command word at the start of a normalized message.

use super::CommandKind;
use super::args::SCORE_WORDS;

/// What a command word stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Kind(CommandKind),
    /// 满意 / 基本满意 / 不满意 … as the first word: a rating whose score
    /// is the word itself.
    BareRate,
    /// `/role` followed by neither leader nor member.
    RoleWithoutWhich,
}

/// Words matched besides [`CommandKind::words`]; not shown in help.
const EXTRA_WORDS: &[(&str, Target)] = &[
    ("设置团长", Target::Kind(CommandKind::SetLeader)),
    ("设置团员", Target::Kind(CommandKind::SetMember)),
    ("/role 团长", Target::Kind(CommandKind::SetLeader)),
    ("/role 团员", Target::Kind(CommandKind::SetMember)),
    ("/role", Target::RoleWithoutWhich),
    ("覆盖率", Target::Kind(CommandKind::Coverage)),
];

/// The byte length of `word` if `text` starts with it. ASCII letters match
/// case-insensitively; a word ending in an ASCII letter must not run on
/// into another one (`/planet` is not `/plan`).
fn starts_with_word(text: &str, word: &str) -> Option<usize> {
    let head = text.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let ends_alnum = word
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let next = text[word.len()..].chars().next();
    if ends_alnum && next.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(word.len())
}

/// The longest command word at the start of `text`, and its byte length.
pub(crate) fn match_word(text: &str) -> Option<(Target, usize)> {
    let mut best: Option<(Target, usize)> = None;
    let mut consider = |word: &str, target: Target| {
        if let Some(len) = starts_with_word(text, word)
            && best.is_none_or(|(_, best_len)| len > best_len)
        {
            best = Some((target, len));
        }
    };
    for kind in CommandKind::ALL {
        for word in kind.words() {
            consider(word, Target::Kind(kind));
        }
    }
    for &(word, target) in EXTRA_WORDS {
        consider(word, target);
    }
    for &(word, _, bare) in SCORE_WORDS {
        // A bare 满意 must stand alone: 满意度调查 is not a rating.
        let alone = text
            .get(word.len()..)
            .and_then(|rest| rest.chars().next())
            .is_none_or(|c| !c.is_alphanumeric());
        if bare && alone {
            consider(word, Target::BareRate);
        }
    }
    best
}

/// The command a help topic names: any word or alias (`完成`, `销号`,
/// `/done`, `done`), `None` when it names none.
pub(crate) fn topic(text: &str) -> Option<CommandKind> {
    let from = |text: &str| match match_word(text)?.0 {
        Target::Kind(kind) => Some(kind),
        Target::BareRate => Some(CommandKind::Rate),
        Target::RoleWithoutWhich => Some(CommandKind::SetLeader),
    };
    from(text).or_else(|| {
        text.starts_with(|c: char| c.is_ascii_alphabetic())
            .then(|| from(&format!("/{text}")))
            .flatten()
    })
}
